import { inputFeatures, interpolate, type Logger, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { stateFeeds } from './feeds.js';
import { openModelSession } from './evaluator.js';
import { evaluationBatches, type EvaluationSet } from './evaluation-set.js';
import { GRAPH_NAMES, type BatchNormMode } from './lower.js';
import type { ProviderChoice } from './providers.js';

/** Loss and accuracy over the evaluation set, one entry per α of the grid. */
export interface InterpolationCurve {
  lossPerAlpha: Float64Array;
  accuracyPerAlpha: Float64Array;
}

/** A checkpoint made ready for an engine; each engine accepts only the states it prepared. */
export interface PreparedState {
  readonly state: Float32Array;
}

/**
 * Evaluates θ(α) = (1 − α)·a + α·b for every state tensor (buffers included) over the evaluation set,
 * loss = Σ batch loss sums / count (with batch-statistics BN each batch normalises by its own statistics).
 * `prepare` does the per-checkpoint work once; the caller keeps a prepared state for both pairs it
 * belongs to.
 */
export interface InterpolationEngine {
  readonly provider: string;
  prepare(state: Float32Array): Promise<PreparedState>;
  /**
   * The state θ(α) = (1 − α)·a + α·b between two prepared states, itself prepared (a point off the stored
   * trajectory, e.g. a valley-floor point, as one end of another line).
   */
  prepareBetween(a: PreparedState, b: PreparedState, alpha: number): Promise<PreparedState>;
  interpolate(a: PreparedState, b: PreparedState, alphas: readonly number[]): Promise<InterpolationCurve>;
  release(): Promise<void>;
}

export interface InterpolationEngineOptions {
  model: ModelSpec;
  layout: ParameterLayout;
  bnMode: BatchNormMode;
  evalSet: EvaluationSet;
  evalBatchSize: number;
  provider?: ProviderChoice;
  log?: Logger;
  /** An evaluation graph to run instead of lowering `model` (see EvaluatorOptions.graph); naive engine only. */
  graph?: Uint8Array;
}

export function checkEvaluationSet(model: ModelSpec, evalSet: EvaluationSet): void {
  const features = inputFeatures(model);
  if (evalSet.features !== features) throw new Error(`the evaluation set has ${evalSet.features} features per example, the model takes ${features}`);
  if (evalSet.count === 0) throw new Error('the evaluation set is empty');
}

/**
 * The straightforward engine: per α, the interpolated state is built in float64 and rounded to float32,
 * then one session run per evaluation batch. One `interpolate` at a time (it reuses one state buffer).
 */
export async function createNaiveEngine(opts: InterpolationEngineOptions): Promise<InterpolationEngine> {
  checkEvaluationSet(opts.model, opts.evalSet);
  const session = await openModelSession(opts);
  const batches = evaluationBatches(opts.evalSet, opts.evalBatchSize);
  const interpolated = new Float32Array(opts.layout.totalSize);
  // Views into `interpolated`: built once, they see each α's state as it is written.
  const feeds = stateFeeds(opts.layout, interpolated, session.inputNames);
  return {
    provider: session.provider,
    prepare: async (state) => ({ state }),
    prepareBetween: async (a, b, alpha) => ({ state: interpolate(a.state, b.state, alpha) }),
    async interpolate(a, b, alphas) {
      const lossPerAlpha = new Float64Array(alphas.length);
      const accuracyPerAlpha = new Float64Array(alphas.length);
      for (const [k, alpha] of alphas.entries()) {
        interpolate(a.state, b.state, alpha, interpolated);
        let lossSum = 0;
        let correct = 0;
        for (const batch of batches) {
          const sums = await session.run({ ...feeds, [GRAPH_NAMES.x]: batch.x, [GRAPH_NAMES.labels]: batch.labels });
          lossSum += sums.lossSum;
          correct += sums.correct;
        }
        lossPerAlpha[k] = lossSum / opts.evalSet.count;
        accuracyPerAlpha[k] = correct / opts.evalSet.count;
      }
      return { lossPerAlpha, accuracyPerAlpha };
    },
    release: () => session.release(),
  };
}
