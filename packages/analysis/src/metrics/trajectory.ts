import { distance, updateCosine, type ParameterLayout } from '@sgdwalk/core';

/**
 * Trajectory metrics over the trainable parameters, the prefix [0, trainableSize) of the state vector
 * (batch-norm running statistics are not parameters SGD moves).
 */

/** ‖θ_t − θ_0‖₂. */
export function distanceFromInit(layout: ParameterLayout, initial: Float32Array, state: Float32Array): number {
  return distance(initial, state, layout.trainableSize);
}

/** ‖θ_t − θ_{t−1}‖₂. */
export function updateNorm(layout: ParameterLayout, previous: Float32Array, state: Float32Array): number {
  return distance(previous, state, layout.trainableSize);
}

/** cos(θ_t − θ_{t−1}, θ_{t+1} − θ_t); NaN where θ_{t+1} is not stored. */
export function pairUpdateCosine(layout: ParameterLayout, previous: Float32Array, state: Float32Array, next: Float32Array | undefined): number {
  return next ? updateCosine(previous, state, next, layout.trainableSize) : NaN;
}
