import { join } from 'node:path';
import {
  ConfigError, FILES, SgdwalkError, hashJson, inputFeatures, sha256, silentLogger, type AnalyzeConfig, type Logger,
} from '@sgdwalk/core';
import { CheckpointReader, CheckpointSet, type CheckpointLocation } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, readPreparedDataset, toFloat32, type PreparedDataset } from '@sgdwalk/data';
import type { InterpolationCurve, InterpolationEngine, PreparedState } from '../engines/engine.js';
import { evaluationSetOf, type EvaluationSet } from '../engines/evaluation-set.js';
import { readPlaneFile, type SurfaceRowJob } from '../surfaces/surface-remote.js';
import { evaluateSurfaceRow, preparePlane, type PreparedPlane } from '../surfaces/surface-rows.js';
import { endResolver, evaluateLineJob, lineJobSteps, type LineJob } from './line-jobs.js';
import { openEngine, type EngineKind, type LineSettings } from './line-settings.js';
import { importedEvaluationGraph } from '../stage/graph-source.js';
import { readRunInfoChecked } from '../stage/run-folder.js';
import { RecentlyUsed } from './recently-used.js';

/**
 * Everything a line is evaluated against besides its ends: the run folder and the prepared data (paths),
 * the evaluation set and the settings that enter a line's key, and the engine. The embedded analysis builds
 * one from its config; a queue worker opens one per distinct spec it is sent and keeps it across jobs.
 */

export interface LineContextSpec extends LineSettings {
  runDir: string;
  dataDir: string;
  evalSet: AnalyzeConfig['evalSet'];
  engine: EngineKind;
  /** The evaluation set's content hash as the coordinator computed it: a worker whose data differs fails. */
  evalSetHash: string;
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

/** Prepared states kept by a worker between jobs: neighbouring pairs share an end, floor segments three. */
const PREPARED_KEPT = 4;

/** Checkpoint folders kept open by a worker: the run's own store, and recent replay-cache entries. */
const READERS_KEPT = 8;

/** A run opened for evaluating line jobs one at a time, keeping the engine and recent prepared states. */
export interface LineContext {
  readonly provider: string;
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
  // Only run.json: the worker evaluates lines, it never uses the training metrics.
  const info = await readRunInfoChecked(spec.runDir);
  const { model, layout } = info;
  const dataset = await readPreparedDataset(spec.dataDir);
  const { evalSet, hash: evalSetHash } = loadEvaluationSet(dataset, spec.dataDir, spec, inputFeatures(model));
  if (evalSetHash !== spec.evalSetHash) {
    // Another machine's folder through a path map, or data prepared again: other examples, other numbers.
    const file = join(spec.dataDir, FILES.dataset);
    throw new SgdwalkError(
      `${file}: the evaluation set here (${evalSetHash.slice(0, 12)}…, dataset ${dataset.hash.slice(0, 12)}…) is not the one the analysis planned with (${spec.evalSetHash.slice(0, 12)}…): this worker's data folder holds other data`,
      'data', { file },
    );
  }
  // An imported run evaluates its own (rewritten) ONNX graph, as in the embedded analysis.
  const network = { model, layout, graph: await importedEvaluationGraph(spec.runDir, info, spec.bnMode) };
  const engine = await openEngine(spec, network, evalSet, log);
  // Surfaces: an engine per evaluation subset (as the embedded stage makes one per surface), and the planes.
  const surfaceEngines = new Map<number | undefined, Promise<InterpolationEngine>>();
  const surfaceEngine = (examples: number | undefined) => {
    let made = surfaceEngines.get(examples);
    if (!made) surfaceEngines.set(examples, (made = openEngine(spec, network, evaluationSetOf(evalSet, evalSetHash, examples).evalSet, log)));
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
  // The step read through a CheckpointSet over the kept reader: the set checks the state is the one planned.
  const prepared = (step: number, location: CheckpointLocation): Promise<PreparedState> =>
    kept.get(location.sha256, async () => {
      const reader = await readers.get(location.dir, () => CheckpointReader.open(location.dir, { layout }));
      const checkpoint = await new CheckpointSet(new Map([[step, location]]), layout, reader).read(step);
      return engine.prepare(checkpoint.state);
    });
  return {
    provider: engine.provider,
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
