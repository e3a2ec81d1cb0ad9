import {
  CheckpointError, ConfigError, SgdwalkError, hashJson, inputFeatures, sha256, silentLogger, type AnalyzeConfig, type Logger,
} from '@sgdwalk/core';
import { CheckpointReader, type CheckpointLocation } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, readPreparedDataset, toFloat32, type PreparedDataset } from '@sgdwalk/data';
import { createNaiveEngine, type InterpolationCurve, type InterpolationEngine, type InterpolationEngineOptions, type PreparedState } from '../engines/engine.js';
import { evaluationSetOf, type EvaluationSet } from '../engines/evaluation-set.js';
import { readPlaneFile, type SurfaceRowJob } from '../surfaces/surface-remote.js';
import { evaluateSurfaceRow, preparePlane, type PreparedPlane } from '../surfaces/surface-rows.js';
import { createFastEngine } from '../engines/fast-engine.js';
import { endResolver, evaluateLineJob, lineJobSteps, type LineJob, type LineKeys } from './line-jobs.js';
import { importedEvaluationGraph } from '../stage/graph-source.js';
import { readRunFolder } from '../stage/run-folder.js';
import { RecentlyUsed } from './recently-used.js';

/**
 * Everything a line is evaluated against besides its ends: the run folder and the prepared data (paths),
 * the evaluation set and the settings that enter a line's key, and the engine. The embedded analysis builds
 * one from its config; a queue worker opens one per distinct spec it is sent and keeps it across jobs.
 */

export type EngineKind = 'fast' | 'naive';

export interface LineContextSpec {
  runDir: string;
  dataDir: string;
  evalSet: AnalyzeConfig['evalSet'];
  bnMode: AnalyzeConfig['bnMode'];
  evalBatchSize: number;
  provider: AnalyzeConfig['provider'];
  engine: EngineKind;
}

/** The evaluation subset of the prepared dataset the analysis config names, and its content hash. */
export function loadEvaluationSet(dataset: PreparedDataset, dataDir: string, config: Pick<AnalyzeConfig, 'evalSet'>, features: number): { evalSet: EvaluationSet; hash: string } {
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
  };
}

/**
 * The content keys of lines: a line's key is its end states' sha256, the evaluation set and the settings
 * that change its values. The α grid is not part of a line's key (values are kept per α, so another grid
 * reuses the α values it shares); a floor segment's ends depend on the pairs' α* and so on their whole grid.
 */
export function lineKeys(hashOf: (step: number) => string, evalSetHash: string, settings: Pick<AnalyzeConfig, 'bnMode' | 'evalBatchSize'>, pairAlphas: readonly number[]): LineKeys {
  const keyed = { bnMode: settings.bnMode, evalBatchSize: settings.evalBatchSize };
  return {
    line: (stepA, stepB) => hashJson({ a: hashOf(stepA), b: hashOf(stepB), evalSet: evalSetHash, settings: keyed }),
    floor: (step) => hashJson({ floor: [hashOf(step - 1), hashOf(step), hashOf(step + 1)], pairAlphas, evalSet: evalSetHash, settings: keyed }),
  };
}

export function createEngine(kind: EngineKind | undefined, options: InterpolationEngineOptions): Promise<InterpolationEngine> {
  return kind === 'naive' ? createNaiveEngine(options) : createFastEngine(options);
}

/** Prepared states kept by a worker between jobs: neighbouring pairs share an end, floor segments three. */
const PREPARED_KEPT = 4;

/** Checkpoint folders kept open by a worker: the run's own store, and recent replay-cache entries. */
const READERS_KEPT = 8;

/** A run opened for evaluating line jobs one at a time, keeping the engine and recent prepared states. */
export interface LineContext {
  readonly provider: string;
  readonly evalSetHash: string;
  /**
   * Evaluate a job. `checkpoints` says, for each step it reads, the checkpoint folder (the run's store or a
   * replay-cache entry, as this machine sees it) and the sha256 the coordinator planned with: a checkpoint
   * that holds another state, or fails its own check, is an error naming the folder and step.
   */
  evaluate(job: LineJob, checkpoints: Readonly<Record<number, CheckpointLocation>>): Promise<InterpolationCurve>;
  /** Evaluate one row of a surface (its plane read from the file the job names), as the embedded stage does. */
  evaluateSurfaceRow(job: SurfaceRowJob): Promise<InterpolationCurve>;
  close(): Promise<void>;
}

/** Planes kept prepared by a worker (three prepared corners each). */
const PLANES_KEPT = 2;

export async function openLineContext(spec: LineContextSpec, log: Logger = silentLogger): Promise<LineContext> {
  const run = await readRunFolder(spec.runDir);
  const { model, layout } = run.info;
  const dataset = await readPreparedDataset(spec.dataDir);
  const { evalSet, hash: evalSetHash } = loadEvaluationSet(dataset, spec.dataDir, spec, inputFeatures(model));
  // An imported run evaluates its own (rewritten) ONNX graph, as in the embedded analysis.
  const graph = await importedEvaluationGraph(spec.runDir, run.info, spec.bnMode);
  const engineOptions = { model, layout, bnMode: spec.bnMode, evalBatchSize: spec.evalBatchSize, provider: spec.provider, log, graph };
  const engine = await createEngine(spec.engine, { ...engineOptions, evalSet });
  // Surfaces: an engine per evaluation subset (as the embedded stage makes one per surface), and the planes.
  const surfaceEngines = new Map<number | undefined, Promise<InterpolationEngine>>();
  const surfaceEngine = (examples: number | undefined) => {
    let made = surfaceEngines.get(examples);
    if (!made) surfaceEngines.set(examples, (made = createEngine(spec.engine, { ...engineOptions, evalSet: evaluationSetOf(evalSet, evalSetHash, examples).evalSet })));
    return made;
  };
  const planes = new RecentlyUsed<string, Promise<PreparedPlane>>(PLANES_KEPT);
  const preparedPlane = (job: SurfaceRowJob): Promise<PreparedPlane> =>
    planes.get(hashJson({ plane: job.planeKey, a: job.aRange, b: job.bRange, examples: job.examples ?? null }), async () =>
      preparePlane(await surfaceEngine(job.examples), await readPlaneFile(job.plane), job.aRange, job.bRange));
  const closeReader = (reader: Promise<CheckpointReader>) => void reader.then((r) => r.close()).catch(() => {});
  const readers = new RecentlyUsed<string, Promise<CheckpointReader>>(READERS_KEPT, closeReader);
  // A job's own ends are never dropped while it runs (capacity ≥ 3).
  const kept = new RecentlyUsed<string, Promise<PreparedState>>(PREPARED_KEPT);
  const prepared = (step: number, { dir, sha256 }: CheckpointLocation): Promise<PreparedState> =>
    kept.get(sha256, async () => {
      const checkpoint = await (await readers.get(dir, () => CheckpointReader.open(dir, { layout }))).read(step);
      if (checkpoint.sha256 !== sha256) {
        throw new CheckpointError(`holds a state with sha256 ${checkpoint.sha256.slice(0, 12)}…, the analysis planned with ${sha256.slice(0, 12)}… (another run, or a changed file)`, dir, step);
      }
      return engine.prepare(checkpoint.state);
    });
  return {
    provider: engine.provider,
    evalSetHash,
    async evaluate(job, checkpoints) {
      for (const step of lineJobSteps(job)) {
        if (checkpoints[step] === undefined) throw new SgdwalkError(`line job ${job.key.slice(0, 12)} names step ${step} without its checkpoint`, 'analyze');
      }
      return evaluateLineJob(engine, job, endResolver(engine, (step) => prepared(step, checkpoints[step])));
    },
    async evaluateSurfaceRow(job) {
      return evaluateSurfaceRow(await preparedPlane(job), job.row);
    },
    async close() {
      await engine.release();
      await Promise.all([...surfaceEngines.values()].map(async (e) => (await e).release()));
      await Promise.all(readers.kept().map(async (r) => (await r).close()));
    },
  };
}
