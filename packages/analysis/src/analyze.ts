import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ConfigError, FILES, SgdwalkError, hashJson, sha256, writeFileAtomic, writeManifest,
  type AnalysisSummary, type AnalyzeConfig, type Logger, type PairMetrics,
} from '@sgdwalk/core';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, readPreparedDataset, toFloat32 } from '@sgdwalk/data';
import { createNaiveEngine, type InterpolationCurve, type InterpolationEngine, type InterpolationEngineOptions, type PreparedState } from './engine.js';
import type { EvaluationSet } from './evaluation-set.js';
import { createFastEngine } from './fast-engine.js';
import { inputFeatures } from './lower.js';
import { readPreviousCurves, writeInterpolationTable, writePairsTable } from './outputs.js';
import { curveMetrics } from './pair-metrics.js';
import { consecutivePairs, type StepPair } from './pairs.js';
import { readRunFolder, type RunFolder, type RunMetrics } from './run-folder.js';
import { ONNXRUNTIME_VERSION } from './session.js';
import { summarize } from './summary.js';
import { distanceFromInit, pairUpdateCosine, updateNorm } from './trajectory.js';

export type EngineKind = 'fast' | 'naive';

export interface AnalyzeRunOptions {
  /** The train stage's output folder: run.json, metrics.arrow, checkpoints/. */
  runDir: string;
  /** The data stage's output folder (the prepared dataset). */
  dataDir: string;
  outDir: string;
  config: AnalyzeConfig;
  log: Logger;
  /** The interpolation engine: 'fast' (default) or the straightforward 'naive' one; same results. */
  engine?: EngineKind;
}

/** The grid the metrics assume: strictly increasing, holding both checkpoints (α = 0 and α = 1). */
function checkAlphaGrid(alphas: readonly number[]): void {
  alphas.forEach((alpha, i) => {
    if (i > 0 && !(alpha > alphas[i - 1])) throw new ConfigError('α values must be strictly increasing', undefined, `analyze.alphas[${i}]`);
  });
  for (const end of [0, 1]) {
    if (!alphas.includes(end)) throw new ConfigError(`the α grid must contain ${end} (the pair's checkpoints themselves)`, undefined, 'analyze.alphas');
  }
}

/** The metrics.arrow distance from init by step (the fallback when θ_0 is not stored). */
function distanceFromInitByStep(metrics: RunMetrics): Map<number, number> {
  return new Map(Array.from(metrics.step, (step, i) => [step, metrics.distanceFromInit[i]]));
}

async function loadEvaluationSet(dataDir: string, config: AnalyzeConfig, features: number): Promise<{ evalSet: EvaluationSet; hash: string; datasetHash: string }> {
  const dataset = await readPreparedDataset(dataDir);
  const split = dataset.splits[config.evalSet.split];
  const indices = evaluationSubset(split.count, config.evalSet.size, config.evalSet.seed);
  if (indices.length === 0) throw new ConfigError(`the ${config.evalSet.split} split of ${dataDir} is empty`, undefined, 'analyze.evalSet.split');
  const x = toFloat32(split, indices, dataset.meta);
  if (x.length !== indices.length * features) {
    throw new SgdwalkError(`${dataDir}: examples have ${x.length / indices.length} values, the model takes ${features}`, 'data', { file: dataDir });
  }
  return {
    evalSet: { x, labels: labelsOf(split, indices), count: indices.length, features },
    hash: hashJson({ dataset: dataset.hash, split: config.evalSet.split, indices: sha256(indices) }),
    datasetHash: dataset.hash,
  };
}

interface PairsResult {
  pairMetrics: PairMetrics[];
  curves: InterpolationCurve[];
  distanceFromInitAtEnd: number;
  /** Pairs whose curve came from earlier results. */
  reused: number;
}

/**
 * The pair loop over a sliding window of checkpoints: each is read once and kept while a pair still needs
 * it, as either end or as θ_{t+1} of the update cosine; its engine-prepared form likewise. A pair whose
 * key matches an earlier curve takes that curve instead of running the engine.
 */
async function interpolatePairs(ctx: {
  pairs: StepPair[];
  reader: CheckpointReader;
  engine: InterpolationEngine;
  run: RunFolder;
  config: AnalyzeConfig;
  pairKey: (stepA: number, stepB: number) => string;
  previous: Map<string, InterpolationCurve>;
  log: Logger;
}): Promise<PairsResult> {
  const { reader, engine, config, log } = ctx;
  const { layout } = ctx.run.info;
  const stored = new Set(reader.steps);
  const states = new Map<number, Float32Array>();
  const prepared = new Map<number, PreparedState>();
  const load = async (step: number): Promise<Float32Array> => {
    let state = states.get(step);
    if (!state) states.set(step, (state = (await reader.read(step)).state));
    return state;
  };
  const prepare = async (step: number): Promise<PreparedState> => {
    let ready = prepared.get(step);
    if (!ready) prepared.set(step, (ready = await engine.prepare(await load(step))));
    return ready;
  };
  // ‖θ_t − θ_0‖ from the checkpoints when θ_0 is stored, else as training logged it.
  const initial = stored.has(0) ? await load(0) : undefined;
  const loggedDistance = initial ? undefined : distanceFromInitByStep(ctx.run.metrics);
  const fromInit = async (step: number): Promise<number> =>
    initial ? distanceFromInit(layout, initial, states.get(step) ?? (await reader.read(step)).state) : (loggedDistance!.get(step) ?? NaN);

  const pairMetrics: PairMetrics[] = [];
  const curves: InterpolationCurve[] = [];
  let reused = 0;
  for (const [i, { stepA, stepB }] of ctx.pairs.entries()) {
    for (const step of states.keys()) {
      if (step < stepA) {
        states.delete(step);
        prepared.delete(step);
      }
    }
    const a = await load(stepA);
    const b = await load(stepB);
    const next = stored.has(stepB + 1) ? await load(stepB + 1) : undefined;
    const key = ctx.pairKey(stepA, stepB);
    let curve = ctx.previous.get(key);
    if (curve) reused++;
    else curve = await engine.interpolate(await prepare(stepA), await prepare(stepB), config.alphas);
    curves.push(curve);
    pairMetrics.push({
      pair: stepB,
      stepA,
      stepB,
      ...curveMetrics(config.alphas, Array.from(curve.lossPerAlpha), config.convexityTolerance),
      distanceFromInit: await fromInit(stepB),
      updateNorm: updateNorm(layout, a, b),
      updateCosine: pairUpdateCosine(layout, a, b, next),
      key,
    });
    log.progress('analyze', i + 1, ctx.pairs.length);
  }
  const distanceFromInitAtEnd = await fromInit(reader.steps.reduce((last, step) => Math.max(last, step)));
  return { pairMetrics, curves, distanceFromInitAtEnd, reused };
}

/**
 * The analyze stage: interpolate every consecutive stored pair of checkpoints over the evaluation set and
 * derive the per-pair metrics; writes interpolation.arrow, pairs.arrow, summary.json and, last, the
 * manifest. Pairs whose key (checkpoint hashes, evaluation set, settings) matches a curve already in
 * outDir are not recomputed.
 */
export async function analyzeRun(opts: AnalyzeRunOptions): Promise<AnalysisSummary> {
  const started = performance.now();
  const { config, log, outDir } = opts;
  const alphas = config.alphas;
  checkAlphaGrid(alphas);
  const run = await readRunFolder(opts.runDir);
  const { model, layout } = run.info;
  const checkpointsDir = join(opts.runDir, FILES.checkpoints);
  const reader = await CheckpointReader.open(checkpointsDir, { layout });
  try {
    const pairs = consecutivePairs(reader.steps, config.steps);
    if (pairs.length === 0) {
      const where = config.steps ? ` with the later step in [${config.steps.join(', ')}]` : '';
      throw new SgdwalkError(`${checkpointsDir}: no two consecutive steps are stored${where}; nothing to analyse`, 'analyze', {
        file: checkpointsDir,
        field: config.steps ? 'analyze.steps' : undefined,
      });
    }
    const { evalSet, hash: evalSetHash, datasetHash } = await loadEvaluationSet(opts.dataDir, config, inputFeatures(model));
    if (datasetHash !== run.info.datasetHash) {
      log.warn(`the prepared dataset in ${opts.dataDir} (${datasetHash.slice(0, 12)}) is not the one run ${run.info.runId} was trained on (${run.info.datasetHash.slice(0, 12)})`);
    }
    const settings = { alphas, bnMode: config.bnMode, evalBatchSize: config.evalBatchSize };
    const pairKey = (stepA: number, stepB: number) => hashJson({ a: reader.hashOf(stepA), b: reader.hashOf(stepB), evalSet: evalSetHash, settings });
    const previous = await readPreviousCurves(outDir, alphas, (reason) => log.warn(`earlier results in ${outDir} are unreadable (${reason}); recomputing every pair`));

    const engineOptions: InterpolationEngineOptions = { model, layout, bnMode: config.bnMode, evalSet, evalBatchSize: config.evalBatchSize, provider: config.provider, log };
    const engine = await (opts.engine === 'naive' ? createNaiveEngine(engineOptions) : createFastEngine(engineOptions));
    let result: PairsResult;
    try {
      log.info(`analyzing ${pairs.length} pairs on ${evalSet.count} ${config.evalSet.split} examples, ${alphas.length} α values, BN ${config.bnMode}, ${engine.provider}`);
      result = await interpolatePairs({ pairs, reader, engine, run, config, pairKey, previous, log });
    } finally {
      await engine.release();
    }
    const { pairMetrics, curves, distanceFromInitAtEnd, reused } = result;
    if (reused > 0) log.info(`${reused} of ${pairs.length} pairs reused from earlier results in ${outDir}`);
    const nonFinite = pairMetrics.filter((_, i) => !curves[i].lossPerAlpha.every(Number.isFinite)).map((p) => p.pair);
    if (nonFinite.length > 0) log.warn(`${nonFinite.length} pairs have a non-finite loss on their curve (first: pair ${nonFinite[0]}); recorded as NaN`);

    const inRange = (step: number) => !config.steps || (step >= config.steps[0] && step <= config.steps[1]);
    const summary = summarize(pairMetrics, {
      gradCosines: Array.from(run.metrics.gradCosine).filter((_, i) => inRange(run.metrics.step[i])),
      distanceFromInitAtEnd,
      evalSetSize: evalSet.count,
      alphas,
      bnMode: config.bnMode,
      provider: engine.provider,
      runId: run.info.runId,
      runStatus: run.info.status,
      seconds: (performance.now() - started) / 1000,
    });

    // The old manifest goes first: until the new one is written, the folder does not claim to be complete.
    await rm(join(outDir, FILES.manifest), { force: true });
    await writeInterpolationTable(outDir, pairMetrics, curves, alphas);
    await writePairsTable(outDir, pairMetrics);
    await writeFileAtomic(join(outDir, FILES.summary), JSON.stringify(summary, null, 2) + '\n');
    await writeManifest(outDir, {
      stage: 'analyze',
      status: run.info.status,
      config,
      inputs: { run: run.runHash, dataset: datasetHash },
      versions: { node: process.version, onnxruntime: ONNXRUNTIME_VERSION, provider: engine.provider, engine: opts.engine ?? 'fast' },
    });
    return summary;
  } finally {
    await reader.close();
  }
}
