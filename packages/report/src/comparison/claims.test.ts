import { describe, expect, it } from 'vitest';
import { judgeClaims, judgeDistance, judgeHeightVsLr, judgeInteriorMinimum, ranks, seriesAlong, spearman, trendOf } from './claims.js';
import type { RunComparison } from './comparison.js';

/** A run with only what the verdicts read: lr, batch, interior fraction (+ sub-windows), height, distance. */
function run(lr: number, batchSize: number, o: { interior?: number; first?: number; height?: number; distance?: number; diverged?: boolean; seed?: number } = {}): RunComparison {
  const nan = { n: 0, q1: NaN, median: NaN, q3: NaN };
  const interior = o.interior ?? 0.8;
  const overrides = { 'train.lr': lr, 'train.batchSize': batchSize, ...(o.seed === undefined ? {} : { 'train.seed': o.seed }) };
  return {
    id: `lr-${lr}_batchSize-${batchSize}`, label: `lr ${lr}, batch ${batchSize}`, overrides, runId: 'r', status: o.diverged ? 'diverged' : 'complete',
    lr, batchSize, steps: 100, stepsPerEpoch: 100, pairs: 100, window: { from: 0, to: 100 },
    interiorMinimum: { count: Math.round(100 * interior), fraction: interior },
    interiorBySubWindow: [
      { from: 1, to: 50, pairs: 50, interior: 0, fraction: o.first ?? 0.1, distance: NaN },
      { from: 51, to: 100, pairs: 50, interior: 0, fraction: interior, distance: o.distance ?? NaN },
    ],
    height: { all: nan, interior: { n: 10, q1: NaN, median: o.height ?? NaN, q3: NaN } },
    medianFloor: NaN,
    distance: { windowEndStep: 100, windowEnd: NaN, endStep: 100, end: o.distance ?? NaN },
    gradCosine: { steps: 0, mean: NaN, fractionNegative: NaN },
    accuracy: { train: NaN, trainSteps: 0, validation: NaN, test: NaN, gap: NaN, gapAgainst: 'none' },
    sharpness: [],
  };
}

const LRS = [0.02, 0.1, 0.5];
const BATCHES = [32, 128, 512];
/** The 3 × 3 grid with height and distance given as functions of (lr, batch). */
const grid = (height: (lr: number, b: number) => number, distance: (lr: number, b: number) => number) =>
  LRS.flatMap((lr) => BATCHES.map((b) => run(lr, b, { height: height(lr, b), distance: distance(lr, b) })));

describe('rank statistics', () => {
  it('rank with ties averaged', () => {
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it('compute Spearman\'s ρ by hand', () => {
    // ranks of y: 1, 2, 3.5, 5, 3.5; Σdxdy = 8, Σdx² = 10, Σdy² = 9.5 → 8 / √95.
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBe(-1);
    expect(spearman([1, 2, 3], [4, 4, 4])).toBeNaN();
    expect(spearman([1], [2])).toBeNaN();
  });

  it('tell strict rises and falls', () => {
    expect(trendOf([1, 2, 3])).toBe('rises');
    expect(trendOf([3, 2, 1])).toBe('falls');
    expect(trendOf([1, 2, 2])).toBe('neither');
    expect(trendOf([1, 3, 2])).toBe('neither');
    expect(trendOf([1])).toBe('neither');
  });

  it('group runs by every other setting, other swept fields included', () => {
    const runs = [run(0.1, 32, { height: 1, seed: 1 }), run(0.5, 32, { height: 2, seed: 1 }), run(0.1, 32, { height: 3, seed: 2 }), run(0.5, 32, { height: 1, seed: 2 }), run(0.5, 64, { height: 1 })];
    const series = seriesAlong(runs, 'lr', (r) => r.height.interior.median);
    expect(series.map((s) => [s.label, s.ys, s.trend])).toEqual([
      ['batch 32, seed 1', [1, 2], 'rises'],
      ['batch 32, seed 2', [3, 1], 'falls'],
    ]);
  });
});

describe('claim verdicts', () => {
  it('claim 1: most pairs have an interior minimum in every run, some runs, or none', () => {
    const all = judgeInteriorMinimum([run(0.1, 32, { interior: 0.9, first: 0.05 }), run(0.5, 32, { interior: 0.6, first: 0.2 })]);
    expect(all.verdict).toBe('supported');
    expect(all.evidence[0]).toBe('2 of 2 runs have an interior minimum for more than half of their consecutive pairs (from 60.0% to 90.0%).');
    expect(all.evidence[1]).toMatch(/first sub-window the fraction is 5\.0%–20\.0%, in its last 60\.0%–90\.0% \(2 of 2 runs above half/);
    expect(judgeInteriorMinimum([run(0.1, 32, { interior: 0.9 }), run(0.5, 32, { interior: 0.5 })]).verdict).toBe('partly supported');
    const none = judgeInteriorMinimum([run(0.1, 32, { interior: 0.2 }), run(0.5, 32, { interior: 0.5 })]);
    expect(none.verdict).toBe('not supported');
    expect(none.evidence[0]).toMatch(/^0 of 2 runs/);
  });

  it('claim 2: supported when height rises with lr at every batch size', () => {
    const c = judgeHeightVsLr(grid((lr, b) => lr * (1 + 32 / b), () => 1));
    expect(c.verdict).toBe('supported');
    expect(c.evidence[0]).toBe('3 of 3 lines of equal other settings rise monotonically with the learning rate.');
    expect(c.evidence).toContain('batch 32: median height 0.04 → 0.2 → 1 for learning rate 0.02 → 0.1 → 0.5 — rises monotonically.');
    expect(c.evidence.find((e) => e.startsWith('Spearman'))).toMatch(/ρ\(learning rate, median height \(interior-minimum pairs, nats\)\) = 0\.\d\d over 9 runs/);
  });

  it('claim 2: NOT supported when height falls with lr', () => {
    const c = judgeHeightVsLr(grid((lr) => 1 / lr, () => 1));
    expect(c.verdict).toBe('not supported');
    expect(c.evidence[0]).toMatch(/^0 of 3 lines/);
    expect(c.evidence.join(' ')).toMatch(/falls monotonically/);
    expect(c.evidence.find((e) => e.startsWith('Spearman'))).toMatch(/= -1\.00 over 9 runs\.$/);
  });

  it('claim 2: partly when one batch size breaks the rise, and not judged without two learning rates', () => {
    const c = judgeHeightVsLr(grid((lr, b) => (b === 512 && lr === 0.5 ? 0.001 : lr), () => 1));
    expect(c.verdict).toBe('partly supported');
    expect(c.evidence).toContain('batch 512: median height 0.02 → 0.1 → 0.001 for learning rate 0.02 → 0.1 → 0.5 — is not monotone.');
    expect(judgeHeightVsLr([run(0.1, 32, { height: 1 }), run(0.1, 128, { height: 2 })]).verdict).toBe('cannot be judged');
  });

  it('claim 3: supported when distance rises with lr and falls with batch size; not when it goes the other way', () => {
    const yes = judgeDistance(grid(() => 1, (lr, b) => lr / b));
    expect(yes.verdict).toBe('supported');
    expect(yes.evidence).toContain('Along the learning rate: 3 of 3 lines rise monotonically.');
    expect(yes.evidence).toContain('Along the batch size: 3 of 3 lines fall monotonically.');
    // Lines in numeric order of their settings: lr 0.02, 0.1, 0.5 (not 0.02, 0.5, 0.1 or 0.1 first).
    expect(yes.evidence.filter((e) => e.startsWith('lr ')).map((e) => e.split(':')[0])).toEqual(['lr 0.02', 'lr 0.1', 'lr 0.5']);
    const no = judgeDistance(grid(() => 1, (lr, b) => b / lr));
    expect(no.verdict).toBe('not supported');
    // Right along lr, wrong along the batch size: partly.
    const half = judgeDistance(grid(() => 1, (lr, b) => lr * b));
    expect(half.verdict).toBe('partly supported');
    expect(half.evidence).toContain('Along the batch size: 0 of 3 lines fall monotonically.');
  });

  it('leave diverged runs out of the trends and say so', () => {
    const runs = grid((lr) => lr, (lr, b) => lr / b);
    runs[runs.length - 1] = run(0.5, 512, { height: 0, distance: Infinity, diverged: true });
    const [, height, distance] = judgeClaims(runs);
    expect(height.verdict).toBe('supported');
    expect(distance.verdict).toBe('supported');
    expect(distance.evidence.at(-1)).toBe('Left out (diverged): lr 0.5, batch 512.');
  });
});
