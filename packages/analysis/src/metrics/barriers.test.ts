import { describe, expect, it } from 'vitest';
import type { BarrierRow } from '@sgdwalk/core';
import { floorSegments, lagLines } from './barrier-lines.js';
import { floorBarrier, lagBarrier, segmentAlphas } from './barriers.js';
import { summarizeBarriers } from '../stage/summary.js';

const grid = [0, 0.25, 0.5, 0.75, 1];

describe('floorBarrier', () => {
  it('is the max on the segment minus the larger end: a bump of 2.5 between ends 1 and 2 gives 0.5 at α = 0.5', () => {
    expect(floorBarrier(grid, [1, 1.5, 2.5, 1.5, 2])).toEqual({ barrier: 0.5, alphaAtMax: 0.5, lossStart: 1, lossEnd: 2 });
  });

  it('is 0 where an end is the highest point: a rising segment, a dip between the ends', () => {
    expect(floorBarrier(grid, [1, 1.25, 1.5, 1.75, 2])).toEqual({ barrier: 0, alphaAtMax: 1, lossStart: 1, lossEnd: 2 });
    expect(floorBarrier(grid, [2, 1, 0.5, 1, 2])).toEqual({ barrier: 0, alphaAtMax: 0, lossStart: 2, lossEnd: 2 });
  });

  it('takes any spacing: a bump of 1 at α = 0.1 on a non-uniform grid', () => {
    expect(floorBarrier([0, 0.1, 0.5, 1], [0, 1, 0, 0])).toEqual({ barrier: 1, alphaAtMax: 0.1, lossStart: 0, lossEnd: 0 });
  });

  it('is NaN on a segment with a non-finite loss, and refuses a line that does not run from α = 0 to 1', () => {
    const nan = floorBarrier(grid, [1, NaN, 2, 1, 1]);
    expect(nan.barrier).toBeNaN();
    expect(nan.alphaAtMax).toBeNaN();
    expect(() => floorBarrier([0, 0.5], [1, 2, 3])).toThrow(/2 α values but 3 losses/);
    expect(() => floorBarrier([0, 0.5, 1.5], [1, 2, 3])).toThrow(/from α = 0 to α = 1/);
  });
});

describe('lagBarrier', () => {
  it('is the largest rise above the chord: L = 1 + α + 4α(1 − α) rises 4α(1 − α), at most 1 at α = 0.5', () => {
    // losses 1, 2, 2.5, 2.5, 2; the chord 1 + α: rises 0, 0.75, 1, 0.75, 0
    expect(lagBarrier(grid, [1, 2, 2.5, 2.5, 2])).toEqual({ barrier: 1, alphaAtMax: 0.5, lossStart: 1, lossEnd: 2 });
  });

  it('is 0 on a convex line (the chord lies above it; the ends touch it)', () => {
    const losses = grid.map((a) => (a - 0.3) ** 2 + 1);
    expect(lagBarrier(grid, losses)).toEqual({ barrier: 0, alphaAtMax: 0, lossStart: losses[0], lossEnd: losses[4] });
  });

  it('measures against the chord, not the ends: a line through (0, 0), (0.1, 1), (0.5, 0), (1, 2)', () => {
    // chord 2α: rises 0, 1 − 0.2 = 0.8, 0 − 1 = −1, 0
    const barrier = lagBarrier([0, 0.1, 0.5, 1], [0, 1, 0, 2]);
    expect(barrier.barrier).toBeCloseTo(0.8, 15);
    expect(barrier.alphaAtMax).toBe(0.1);
    expect(lagBarrier(grid, [1, 1, Infinity, 1, 1]).barrier).toBeNaN();
  });
});

describe('barrier lines', () => {
  it('measures on the part of the α grid in [0, 1]', () => {
    expect(segmentAlphas([-0.5, 0, 0.25, 1, 1.5])).toEqual([0, 0.25, 1]);
  });

  it('has a floor segment for each two successive analysed pairs', () => {
    const pairs = [1, 2, 3, 4, 8].map((t) => ({ stepA: t - 1, stepB: t }));
    expect(floorSegments(pairs)).toEqual([1, 2, 3]);
    expect(floorSegments([{ stepA: 4, stepB: 5 }])).toEqual([]);
  });

  it('takes lag lines from start steps that are multiples of `every`, both ends stored (and in the window)', () => {
    const stored = [0, 1, 2, 3, 4, 7, 8, 10, 12, 20];
    // starts 0, 2, 4, 8, 10, 12, 20; ends stored for (0,2) (0,8) (2,4) (2,10) (4,12) (8,10) (10,12) (12,20)
    expect(lagLines(stored, [8, 2, 2], 2)).toEqual([
      { start: 0, k: 2 }, { start: 0, k: 8 }, { start: 2, k: 2 }, { start: 2, k: 8 }, { start: 4, k: 8 },
      { start: 8, k: 2 }, { start: 10, k: 2 }, { start: 12, k: 8 },
    ]);
    expect(lagLines(stored, [2, 8], 2, [2, 12])).toEqual([{ start: 2, k: 2 }, { start: 2, k: 8 }, { start: 4, k: 8 }, { start: 8, k: 2 }, { start: 10, k: 2 }]);
    expect(lagLines(stored, [], 1)).toEqual([]);
  });
});

describe('summarizeBarriers', () => {
  const row = (kind: BarrierRow['kind'], step: number, k: number, barrier: number): BarrierRow => ({ kind, step, k, barrier, alphaAtMax: 0.5, lossStart: 1, lossEnd: 1 });

  it('gives the floor barriers\' positive fraction, median and max, and the median B(t, k) per configured lag', () => {
    const rows = [row('floor', 1, 1, 0), row('floor', 2, 1, 0.5), row('floor', 3, 1, 0.1), row('floor', 4, 1, NaN), row('lag', 0, 2, 0.2), row('lag', 2, 2, 0.4), row('lag', 0, 8, 1)];
    expect(summarizeBarriers(rows, [8, 2, 32])).toEqual({
      fractionFloorBarrierPositive: 2 / 3,
      medianFloorBarrier: 0.1,
      maxFloorBarrier: 0.5,
      medianLagBarrier: { '2': expect.closeTo(0.3, 15), '8': 1, '32': NaN },
    });
  });

  it('is NaN where no barrier was computed', () => {
    expect(summarizeBarriers([], [])).toEqual({ fractionFloorBarrierPositive: NaN, medianFloorBarrier: NaN, maxFloorBarrier: NaN, medianLagBarrier: {} });
  });
});
