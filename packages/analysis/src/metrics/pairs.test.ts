import { describe, expect, it } from 'vitest';
import { consecutivePairs, windowNotice } from './pairs.js';

describe('consecutive pairs and the analysis window', () => {
  // Dense 0–100 plus every 100th step, as the default pipeline stores.
  const stored = [...Array.from({ length: 101 }, (_, i) => i), 200, 300];

  it('pairs are the consecutive stored steps, named by the later one, within the window', () => {
    expect(consecutivePairs(stored)).toHaveLength(100);
    expect(consecutivePairs(stored, [1, 5000]).map((p) => p.stepB)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(consecutivePairs(stored, [10, 12])).toEqual([{ stepA: 9, stepB: 10 }, { stepA: 10, stepB: 11 }, { stepA: 11, stepB: 12 }]);
  });

  it('a window beyond the stored pairs says what was asked and what is analysed', () => {
    expect(windowNotice([1, 5000], consecutivePairs(stored, [1, 5000]))).toBe(
      'analyze.steps asks for pairs ending in steps 1–5000; the run stores consecutive checkpoints for pairs ending in 1–100 only, so 100 pairs (1–100) are analysed',
    );
    expect(windowNotice([95, 150], consecutivePairs(stored, [95, 150]))).toContain('so 6 pairs (95–100) are analysed');
  });

  it('silent when the window is covered or unset', () => {
    expect(windowNotice([10, 20], consecutivePairs(stored, [10, 20]))).toBeUndefined();
    expect(windowNotice(undefined, consecutivePairs(stored))).toBeUndefined();
  });
});
