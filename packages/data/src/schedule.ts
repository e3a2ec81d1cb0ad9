import { ConfigError, Rng, deriveSeed, permutation } from '@sgdwalk/core';

/**
 * Which training examples step t uses, as a pure function of (seed, epoch, step): every epoch is its own
 * seeded permutation of the split, so any step's minibatch can be reproduced without replaying the steps
 * before it (the analysis re-evaluates B_t from this, and metrics.arrow may store only the reference).
 *
 * Each epoch has floor(count / batchSize) steps: the last count mod batchSize examples of the epoch's
 * permutation are left out, so every step has exactly batchSize examples (a short last batch would be a
 * noisier step at the same learning rate and confound the per-step measurements). Which examples are left
 * out differs from epoch to epoch, since the permutation does.
 */
export class MinibatchSchedule {
  /** Steps per epoch: floor(count / batchSize); the partial batch at an epoch's end is dropped. */
  readonly stepsPerEpoch: number;
  private cachedEpoch = 0;
  private cachedOrder: Int32Array | null = null;

  constructor(
    readonly seed: number,
    readonly count: number,
    readonly batchSize: number,
  ) {
    if (!Number.isInteger(count) || count <= 0) throw new RangeError(`example count must be a positive integer, got ${count}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    if (batchSize > count) throw new ConfigError(`batch size ${batchSize} is larger than the ${count} training examples, so an epoch would have no step`, undefined, 'train.batchSize');
    this.stepsPerEpoch = Math.floor(count / batchSize);
  }

  /** The epoch (1-based) that step `step` (1-based) belongs to. */
  epochOf(step: number): number {
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`steps are numbered from 1, got ${step}`);
    return Math.floor((step - 1) / this.stepsPerEpoch) + 1;
  }

  /** The order in which epoch `epoch` visits the examples. */
  private orderOf(epoch: number): Int32Array {
    // Steps are asked for in order during training, so caching one epoch avoids recomputing the permutation
    // at every step; random access still works, it just recomputes.
    if (this.cachedEpoch !== epoch || !this.cachedOrder) {
      this.cachedOrder = permutation(this.count, new Rng(deriveSeed(this.seed, 'minibatch', epoch)));
      this.cachedEpoch = epoch;
    }
    return this.cachedOrder;
  }

  /** Indices (into the training split) of minibatch B_step: slice [s·B, (s+1)·B) of its epoch's permutation. */
  indicesFor(step: number): Int32Array {
    const epoch = this.epochOf(step);
    const s = (step - 1) % this.stepsPerEpoch;
    // A copy, so a caller that sorts or edits its batch cannot corrupt the cached permutation.
    return this.orderOf(epoch).slice(s * this.batchSize, (s + 1) * this.batchSize);
  }
}
