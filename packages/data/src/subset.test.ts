import { Rng, deriveSeed, permutation } from '@sgdwalk/core';
import { describe, expect, it } from 'vitest';
import { evaluationSubset } from './subset.js';

describe('evaluationSubset', () => {
  it('"all", or a size at least the count, is every index in order', () => {
    expect(Array.from(evaluationSubset(5, 'all', 3))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(evaluationSubset(5, 5, 3))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(evaluationSubset(5, 99, 3))).toEqual([0, 1, 2, 3, 4]);
  });

  it('is the first `size` of the seeded permutation, sorted ascending', () => {
    const subset = evaluationSubset(1000, 100, 9);
    const expected = Array.from(permutation(1000, new Rng(deriveSeed(9, 'eval-subset'))).subarray(0, 100)).sort((a, b) => a - b);
    expect(Array.from(subset)).toEqual(expected);
    expect(subset.length).toBe(100);
    for (let i = 1; i < subset.length; i++) expect(subset[i]).toBeGreaterThan(subset[i - 1]);
    expect(subset[0]).toBeGreaterThanOrEqual(0);
    expect(subset[99]).toBeLessThan(1000);
  });

  it('is deterministic in the seed and changes with it', () => {
    expect(Array.from(evaluationSubset(1000, 100, 9))).toEqual(Array.from(evaluationSubset(1000, 100, 9)));
    expect(Array.from(evaluationSubset(1000, 100, 10))).not.toEqual(Array.from(evaluationSubset(1000, 100, 9)));
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => evaluationSubset(10, 0, 0)).toThrow(RangeError);
    expect(() => evaluationSubset(10, 2.5, 0)).toThrow(RangeError);
  });
});
