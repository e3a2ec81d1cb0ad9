import { Rng, deriveSeed, permutation } from '@sgdwalk/core';

/**
 * The examples an evaluation runs on: all of the split, or a seeded random subset of `size` of them.
 * Sorted ascending, so reading them walks the split front to back, and the same (count, size, seed)
 * always gives the same subset (its hash is part of the analysis cache key).
 */
export function evaluationSubset(count: number, size: number | 'all', seed: number): Int32Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`example count must be a non-negative integer, got ${count}`);
  if (size !== 'all' && !(Number.isInteger(size) && size > 0)) throw new RangeError(`subset size must be a positive integer or "all", got ${size}`);
  if (size === 'all' || size >= count) return Int32Array.from({ length: count }, (_, i) => i);
  return permutation(count, new Rng(deriveSeed(seed, 'eval-subset'))).slice(0, size).sort();
}
