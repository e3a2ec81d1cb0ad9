import { Rng, tensorView, type ParameterLayout } from '@sgdwalk/core';
import type { InterpolationEngine } from '../src/engines/engine.js';
import type { EvaluationSet } from '../src/engines/evaluation-set.js';

/**
 * Random states, trajectories and evaluation sets for the engine tests, which compare engines, providers
 * and graphs with each other on the same inputs (so the inputs need only be generic, and seeded).
 */

export interface StateScale {
  /** He-like scale for `.weight` tensors (√(2 / fan-in)), so activations stay O(1) through a conv stack; otherwise 0.7. */
  he?: boolean;
}

/** Parameters N(0, scale²); BN γ and running variances in [0.5, 1.5), so they stay positive. */
export function randomState(layout: ParameterLayout, rng: Rng, { he = false }: StateScale = {}): Float32Array {
  const state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const view = tensorView(state, slot);
    const scale = !he ? 0.7 : slot.name.endsWith('.weight') ? Math.sqrt(2 / slot.shape.slice(0, -1).reduce((a, b) => a * b, 1)) : 0.5;
    for (let i = 0; i < view.length; i++) view[i] = slot.name.endsWith('running_var') || slot.name.endsWith('gamma') ? 0.5 + rng.uniform() : rng.normal() * scale;
  }
  return state;
}

/**
 * A short trajectory: each state a small random step (30 % of each value's size) from the one before.
 * `bufferStep` moves the buffers by less, so running variances stay positive on lines extrapolated to
 * α = −0.5 and 1.5.
 */
export function trajectory(layout: ParameterLayout, length: number, seed: number, opts: StateScale & { bufferStep?: number } = {}): Float32Array[] {
  const rng = new Rng(seed);
  const bufferStep = opts.bufferStep ?? 0.3;
  const states = [randomState(layout, rng, opts)];
  while (states.length < length) states.push(states.at(-1)!.map((v, i) => v + rng.normal() * (i < layout.trainableSize ? 0.3 : bufferStep) * Math.abs(v)));
  return states;
}

/** `count` examples of N(0, 1) features and uniform labels. */
export function randomEvaluationSet(features: number, classes: number, count: number, seed: number): EvaluationSet {
  const rng = new Rng(seed);
  return { x: Float32Array.from({ length: count * features }, () => rng.normal()), labels: Int32Array.from({ length: count }, () => rng.int(classes)), count, features };
}

/** Use an engine and release it, whatever happens. */
export async function withEngine<T>(create: Promise<InterpolationEngine>, use: (engine: InterpolationEngine) => Promise<T>): Promise<T> {
  const engine = await create;
  try {
    return await use(engine);
  } finally {
    await engine.release();
  }
}
