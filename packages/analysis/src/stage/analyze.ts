import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckpointSet } from '@sgdwalk/checkpoints';
import {
  FILES, inputFeatures, SgdwalkError, writeFileAtomic, writeManifest,
  type AnalysisSummary, type AnalyzeConfig, type Logger,
} from '@sgdwalk/core';
import { readPreparedDataset } from '@sgdwalk/data';
import { runAnalysisPass, type AnalysisPassResult, type ReuseCount } from './analysis-pass.js';
import { floorSegments, lagLines } from '../metrics/barrier-lines.js';
import { segmentAlphas } from '../metrics/barriers.js';
import { loadEvaluationSet, type LineContextSpec } from '../lines/line-context.js';
import { lineKeys, planLines } from '../lines/line-jobs.js';
import { LineJournal } from '../lines/line-journal.js';
import { openEngine, type EngineKind } from '../lines/line-settings.js';
import type { KnownLines } from '../lines/known-lines.js';
import { BARRIER_LINES_FILE, readKnownLines, writeBarrierLinesTable, writeBarriersTable, writeInterpolationTable, writePairsTable } from './outputs.js';
import { consecutivePairs, windowNotice } from '../metrics/pairs.js';
import { engineFor, importedEvaluationGraph, sharpnessUnavailable } from './graph-source.js';
import type { RunFolder, RunMetrics } from './run-folder.js';
import { evaluateRemotely, lazyEngine, type RemoteLines, type RemoteWorkers } from '../lines/remote-lines.js';
import { ONNXRUNTIME_VERSION } from '../devices/session.js';
import { measureSharpness } from '../sharpness/sharpness-stage.js';
import { summarize } from './summary.js';
import { analyzeSurfaces } from '../surfaces/surface-stage.js';

export interface AnalyzeRunOptions {
  /**
   * The train stage's output folder, opened by the caller (readRunFolder): run.json and metrics.arrow read
   * once, and its checkpoints (a dense run's store; an anchored run's with the replayed steps, from train's
   * openAnalysisCheckpoints). The caller closes the checkpoints.
   */
  run: RunFolder;
  checkpoints: CheckpointSet;
  /** The data stage's output folder (the prepared dataset). */
  dataDir: string;
  outDir: string;
  config: AnalyzeConfig;
  log: Logger;
  /** The interpolation engine: 'fast' (default) or the straightforward 'naive' one; same results. */
  engine?: EngineKind;
  /**
   * The previous analysis folder whose results are reused by content key (e.g. the current analyze
   * folder, when outDir is a fresh staging folder); default outDir. A missing folder reuses nothing.
   */
  reuseFrom?: string;
  /**
   * Where lines are evaluated instead of in this process (a job queue's workers); the files are the same.
   * Without it, everything runs here.
   */
  remote?: RemoteLines;
  /**
   * A file where finished lines are kept as they complete (lineJournalBeside), so an analysis killed
   * mid-way and run again computes only what is missing; removed once the tables are written.
   */
  journal?: string;
}

/** The metrics.arrow distance from init by step (the fallback when θ_0 is not stored). */
function distanceFromInitByStep(metrics: RunMetrics): Map<number, number> {
  return new Map(Array.from(metrics.step, (step, i) => [step, metrics.distanceFromInit[i]]));
}

/** The execution provider(s) the lines were evaluated on: this process's, or the workers'. */
function analysisProvider(local: string, remote: RemoteWorkers | undefined): string {
  if (!remote || remote.size === 0) return local;
  const providers = new Set([...remote.values()].map((w) => w.provider));
  if (local !== 'none') providers.add(local);
  return [...providers].sort().join(', ');
}

/** The machines that evaluated this analysis' lines, with how many each (none when all were reused). */
function linesComputedBy(remote: RemoteWorkers | undefined, localProvider: string, evaluated: number): AnalysisSummary['computedBy'] {
  if (remote) return [...remote.values()].sort((a, b) => a.host.localeCompare(b.host) || a.provider.localeCompare(b.provider));
  return evaluated > 0 ? [{ host: hostname(), provider: localProvider, lines: evaluated }] : [];
}

/** Log lines for a count of reused and computed lines. */
function reuseLine(what: string, count: ReuseCount, from: string): string {
  return `${what}: ${count.reused} reused, ${count.computed} computed (earlier results: ${from})`;
}

/**
 * The analyze stage: interpolate every consecutive stored pair of checkpoints over the evaluation set and
 * derive the per-pair metrics; measure the barriers along the valley floor and between iterates k steps
 * apart; estimate the sharpness (top Hessian eigenvalue) at configured steps; writes interpolation.arrow,
 * pairs.arrow, barriers.arrow (+ barrier-lines.arrow, the lines' losses), sharpness.arrow, summary.json
 * and, last, the manifest. Every line is stored under a content key (its end
 * states' contents, the evaluation set, the settings); values found under the same key in the previous
 * analysis (`reuseFrom`, else outDir) are not computed again.
 */
export async function analyzeRun(opts: AnalyzeRunOptions): Promise<AnalysisSummary> {
  const started = performance.now();
  const { config, log, outDir } = opts;
  // The α grid was checked with the config (checkAlphaGrid in the schema).
  const alphas = config.alphas;
  const lineAlphas = segmentAlphas(alphas);
  const { run, checkpoints: reader } = opts;
  const runDir = run.dir;
  const { model, layout } = run.info;
  const checkpointsDir = join(runDir, FILES.checkpoints);
  const pairs = consecutivePairs(reader.steps, config.steps);
  if (pairs.length === 0) {
    const where = config.steps ? ` with the later step in [${config.steps.join(', ')}]` : '';
    throw new SgdwalkError(`${checkpointsDir}: no two consecutive steps are stored${where}; nothing to analyse`, 'analyze', {
      file: checkpointsDir,
      field: config.steps ? 'analyze.steps' : undefined,
    });
  }
  const clipped = windowNotice(config.steps, pairs);
  if (clipped) log.warn(clipped);
  const floorSteps = config.barriers.floor ? floorSegments(pairs) : [];
  const lags = lagLines(reader.steps, config.barriers.lags, config.barriers.every, config.steps);
  const barriersConfigured = config.barriers.floor || config.barriers.lags.length > 0;
  // Read once: the evaluation set and the sharpness subset both come from it.
  const dataset = await readPreparedDataset(opts.dataDir);
  const datasetHash = dataset.hash;
  const { evalSet, hash: evalSetHash } = loadEvaluationSet(dataset, opts.dataDir, config, inputFeatures(model));
  if (datasetHash !== run.info.datasetHash) {
    log.warn(`the prepared dataset in ${opts.dataDir} (${datasetHash.slice(0, 12)}) is not the one run ${run.info.runId} was trained on (${run.info.datasetHash.slice(0, 12)})`);
  }
  const keys = lineKeys((step) => reader.hashOf(step), evalSetHash, config, alphas);
  const plan = planLines({ pairs, floorSteps, lagLines: lags, alphas, lineAlphas, keys, convexityTolerance: config.convexityTolerance });
  const reuseDir = opts.reuseFrom ?? outDir;
  const known = await readKnownLines(reuseDir, (file, reason) => log.warn(`earlier results in ${file} are unreadable (${reason}); recomputing what they held`));
  // Lines an interrupted analysis finished: known as if from an earlier analysis, and reused.
  const opened = opts.journal ? await LineJournal.open(opts.journal, known, log) : undefined;
  if (opened && opened.lines > 0) log.info(`${opened.lines} lines finished before an interruption, from ${opts.journal}`);
  const journal = opened?.journal;
  const finished = journal && ((key: string, lineAlphasDone: readonly number[], curve: Parameters<LineJournal['add']>[2]) => journal.add(key, lineAlphasDone, curve));
  const earlier: KnownLines = new Map([...known].map(([key, values]) => [key, new Map(values)]));

  const barrierWork = barriersConfigured ? `, ${floorSteps.length} floor segments and ${lags.length} lag lines (k in [${config.barriers.lags.join(', ')}], every ${config.barriers.every} steps)` : '';
  const where = opts.remote ? `on ${opts.remote.describe}` : 'here';
  log.info(`analyzing ${pairs.length} pairs${barrierWork} on ${evalSet.count} ${config.evalSet.split} examples, ${alphas.length} α values, BN ${config.bnMode}, ${where}`);
  const graph = await importedEvaluationGraph(runDir, run.info, config.bnMode);
  const engineKind = engineFor(opts.engine, graph, log);
  // What a worker is told of the run besides each job: paths, the evaluation set (and its hash, which the
  // worker checks its own against) and the settings.
  const spec: LineContextSpec = {
    runDir: resolve(runDir), dataDir: resolve(opts.dataDir), evalSet: config.evalSet, evalSetHash, bnMode: config.bnMode,
    evalBatchSize: config.evalBatchSize, provider: config.provider, tf32: config.tf32, engine: engineKind,
  };
  const network = { model, layout, graph };
  let remote: RemoteWorkers | undefined;
  try {
    if (opts.remote) {
      const checkpoints = Object.fromEntries(reader.steps.map((step) => {
        const { dir, sha256 } = reader.locate(step);
        return [step, { dir: resolve(dir), sha256 }];
      }));
      remote = await evaluateRemotely(opts.remote, { spec, checkpoints }, plan, known, async (job, curve) => finished?.(job.key, job.alphas, curve));
    }
  } catch (e) {
    await journal?.close();
    throw e;
  }
  // With the lines evaluated elsewhere, the pass needs no engine here and none is opened.
  const engine = remote ? lazyEngine(() => openEngine(spec, network, evalSet, log)) : await openEngine(spec, network, evalSet, log);
  if (!remote) log.info(`execution provider: ${engine.provider} on ${engine.device}${engine.deviceResident ? ', data resident on the device' : ''}`);
  let result: AnalysisPassResult;
  try {
    result = await runAnalysisPass({
      plan,
      steps: reader.steps,
      read: async (step) => (await reader.read(step)).state,
      engine,
      layout,
      loggedDistanceFromInit: distanceFromInitByStep(run.metrics),
      known,
      earlier,
      finished,
      log,
    });
  } finally {
    await engine.release();
    await journal?.close();
  }
  const { pairMetrics, curves, distanceFromInitAtEnd, barriers } = result;
  log.info(reuseLine('pairs', result.pairs, reuseDir));
  if (barriersConfigured) {
    log.info(reuseLine('floor segments', result.floorLines, reuseDir));
    log.info(reuseLine('lag lines', result.lagLines, reuseDir));
  }
  const counts = [result.pairs, result.floorLines, result.lagLines];
  const evaluated = counts.reduce((sum, c) => sum + c.computed, 0);
  const alphasEvaluated = counts.reduce((sum, c) => sum + c.alphasEvaluated, 0);
  log.info(`${evaluated} lines evaluated at ${alphasEvaluated} α values in all; ${result.reads} checkpoints read, ${result.prepares} states prepared`);
  const nonFinite = pairMetrics.filter((_, i) => !curves[i].lossPerAlpha.every(Number.isFinite)).map((p) => p.pair);
  if (nonFinite.length > 0) log.warn(`${nonFinite.length} pairs have a non-finite loss on their curve (first: pair ${nonFinite[0]}); recorded as NaN`);
  const nonFiniteBarriers = barriers.filter((b) => !Number.isFinite(b.barrier));
  if (nonFiniteBarriers.length > 0) {
    const first = nonFiniteBarriers[0];
    log.warn(`${nonFiniteBarriers.length} barriers are not finite (first: ${first.kind} at step ${first.step}, k = ${first.k}); recorded as NaN`);
  }

  const provider = analysisProvider(engine.provider, remote);
  const computedBy = linesComputedBy(remote, engine.provider, evaluated);
  const noSharpness = sharpnessUnavailable(run.info, config);
  if (noSharpness) log.warn(`sharpness: ${noSharpness}`);
  const sharpness = noSharpness ? [] : await measureSharpness({ config, run, reader, dataset, outDir, reuseDir, log });
  const remoteRows = opts.remote?.evaluateSurfaceRows?.bind(opts.remote);
  const surfaces = await analyzeSurfaces({
    config, model, layout, reader, evalSet, evalSetHash, pairs: pairMetrics, outDir, reuseDir, engine: engineKind, graph, log,
    remote: remoteRows && { rows: remoteRows, spec },
  });

  const inRange = (step: number) => !config.steps || (step >= config.steps[0] && step <= config.steps[1]);
  const summary = summarize(pairMetrics, {
    gradCosines: Array.from(run.metrics.gradCosine).filter((_, i) => inRange(run.metrics.step[i])),
    distanceFromInitAtEnd,
    barriers,
    lags: config.barriers.lags,
    sharpness: sharpness.map(({ step, topEigenvalue, twoOverLr }) => ({ step, topEigenvalue, twoOverLr })),
    pairsReused: result.pairs.reused,
    pairsComputed: result.pairs.computed,
    evalSetSize: evalSet.count,
    alphas,
    bnMode: config.bnMode,
    provider,
    computedBy,
    runId: run.info.runId,
    runStatus: run.info.status,
    seconds: (performance.now() - started) / 1000,
  });
  if (noSharpness) summary.sharpnessUnavailable = noSharpness;

  summary.surfaces = surfaces;

  // The old manifest goes first: until the new one is written, the folder does not claim to be complete.
  await rm(join(outDir, FILES.manifest), { force: true });
  await writeInterpolationTable(outDir, pairMetrics, curves, alphas);
  await writePairsTable(outDir, pairMetrics);
  if (barriersConfigured) {
    await writeBarriersTable(outDir, barriers);
    await writeBarrierLinesTable(outDir, result.barrierLines, lineAlphas);
  } else {
    // Barriers switched off: tables from an earlier analysis in this folder must not pass for this one's.
    await Promise.all([FILES.barriers, BARRIER_LINES_FILE].map((file) => rm(join(outDir, file), { force: true })));
  }
  await writeFileAtomic(join(outDir, FILES.summary), JSON.stringify(summary, null, 2) + '\n');
  await writeManifest(outDir, {
    stage: 'analyze',
    status: run.info.status,
    config,
    inputs: { run: run.runHash, dataset: datasetHash },
    versions: { node: process.version, onnxruntime: ONNXRUNTIME_VERSION, provider, device: engine.device, engine: engineKind, graph: run.info.source ? 'imported' : 'lowered' },
  });
  // The tables hold every line now: the journal has served.
  await journal?.remove();
  return summary;
}
