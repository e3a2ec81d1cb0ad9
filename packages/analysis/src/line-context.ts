import { join } from 'node:path';
import {
  CheckpointError, ConfigError, FILES, SgdwalkError, hashJson, inputFeatures, sha256, silentLogger, type AnalyzeConfig, type Logger,
} from '@sgdwalk/core';
import { CheckpointReader } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, readPreparedDataset, toFloat32, type PreparedDataset } from '@sgdwalk/data';
import { createNaiveEngine, type InterpolationCurve, type InterpolationEngine, type InterpolationEngineOptions, type PreparedState } from './engine.js';
import type { EvaluationSet } from './evaluation-set.js';
import { createFastEngine } from './fast-engine.js';
import { endResolver, evaluateLineJob, lineJobSteps, type LineJob, type LineKeys } from './line-jobs.js';
import { importedEvaluationGraph } from './graph-source.js';
import { readRunFolder } from './run-folder.js';

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

/** A run opened for evaluating line jobs one at a time, keeping the engine and recent prepared states. */
export interface LineContext {
  readonly provider: string;
  readonly evalSetHash: string;
  /**
   * Evaluate a job. `expected` is the sha256 each checkpoint it reads must have (what the coordinator
   * planned with): a checkpoint that differs here, or fails its own check, is an error naming file and step.
   */
  evaluate(job: LineJob, expected: Readonly<Record<number, string>>): Promise<InterpolationCurve>;
  close(): Promise<void>;
}

export async function openLineContext(spec: LineContextSpec, log: Logger = silentLogger): Promise<LineContext> {
  const run = await readRunFolder(spec.runDir);
  const { model, layout } = run.info;
  const checkpointsDir = join(spec.runDir, FILES.checkpoints);
  const reader = await CheckpointReader.open(checkpointsDir, { layout });
  try {
    const dataset = await readPreparedDataset(spec.dataDir);
    const { evalSet, hash: evalSetHash } = loadEvaluationSet(dataset, spec.dataDir, spec, inputFeatures(model));
    // An imported run evaluates its own (rewritten) ONNX graph, as in the embedded analysis.
    const graph = await importedEvaluationGraph(spec.runDir, run.info, spec.bnMode);
    const engine = await createEngine(spec.engine, { model, layout, bnMode: spec.bnMode, evalSet, evalBatchSize: spec.evalBatchSize, provider: spec.provider, log, graph });
    // Most recently used last; a job's own ends are never dropped while it runs (capacity ≥ 3).
    const kept = new Map<string, PreparedState>();
    const prepared = async (step: number, expected: string): Promise<PreparedState> => {
      const hit = kept.get(expected);
      if (hit) {
        kept.delete(expected);
        kept.set(expected, hit);
        return hit;
      }
      const stored = reader.hashOf(step);
      if (stored !== expected) {
        throw new CheckpointError(`the checkpoint here has sha256 ${stored.slice(0, 12)}…, the analysis planned with ${expected.slice(0, 12)}… (another run, or a changed file)`, checkpointsDir, step);
      }
      const state = await engine.prepare((await reader.read(step)).state);
      kept.set(expected, state);
      while (kept.size > PREPARED_KEPT) kept.delete(kept.keys().next().value!);
      return state;
    };
    return {
      provider: engine.provider,
      evalSetHash,
      async evaluate(job, expected) {
        for (const step of lineJobSteps(job)) {
          if (expected[step] === undefined) throw new SgdwalkError(`line job ${job.key.slice(0, 12)} names step ${step} without its sha256`, 'analyze');
        }
        return evaluateLineJob(engine, job, endResolver(engine, (step) => prepared(step, expected[step])));
      },
      async close() {
        await engine.release();
        await reader.close();
      },
    };
  } catch (error) {
    await reader.close();
    throw error;
  }
}
