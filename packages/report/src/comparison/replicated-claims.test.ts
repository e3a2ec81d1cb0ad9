import { describe, expect, it } from 'vitest';
import type { RunComparison } from './comparison.js';
import { seedClaimsTable } from './comparison-tables.js';
import { bootstrapInterval, BOOTSTRAP, combineVerdicts, groupReplicates, judgeClaimsOverSeeds, verdictOf, type Effect } from './replicated-claims.js';

/** A replicate with what the claims read: interior fractions (whole and per sub-window), height, distances. */
function replicate(lr: number, seed: number, o: { interior?: number; first?: number; height?: number; distance?: number; batchSize?: number }): RunComparison {
  const nan = { n: 0, q1: NaN, median: NaN, q3: NaN };
  const batchSize = o.batchSize ?? 100;
  const interior = o.interior ?? 0.8;
  return {
    id: `lr-${lr}_seed-${seed}`, label: `lr ${lr}, seed ${seed}`, overrides: { 'train.lr': lr, 'train.seed': seed }, runId: `r${seed}`, status: 'complete',
    lr, batchSize, steps: 100, stepsPerEpoch: 100, pairs: 100, window: { from: 0, to: 100 },
    interiorMinimum: { count: Math.round(100 * interior), fraction: interior },
    interiorBySubWindow: [
      { from: 1, to: 50, pairs: 50, interior: 0, fraction: o.first ?? 0.1, distance: (o.distance ?? NaN) / 2 },
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
const SEEDS = [0, 1, 2];
/** Three learning rates × three seeds; `noise[seed]` is added to each height and distance. */
const sweep = (height: (lr: number) => number, noise: number[], extra: { first?: number; interior?: number } = {}) =>
  LRS.flatMap((lr) => SEEDS.map((seed) => replicate(lr, seed, { ...extra, height: height(lr) + noise[seed], distance: 10 * lr + noise[seed] })));

describe('the bootstrap', () => {
  it('gives a fixed-seed percentile interval inside the data, degenerate on constant data', () => {
    const mean = (g: number[][]) => g[0].reduce((a, b) => a + b, 0) / g[0].length;
    const a = bootstrapInterval([[1, 2, 3, 4, 10]], mean);
    expect(a).toEqual(bootstrapInterval([[1, 2, 3, 4, 10]], mean));
    expect(a.low).toBeGreaterThanOrEqual(1);
    expect(a.high).toBeLessThanOrEqual(10);
    expect(a.low).toBeLessThan(4);
    expect(a.high).toBeGreaterThan(4);
    expect(bootstrapInterval([[2, 2, 2]], mean)).toEqual({ low: 2, high: 2 });
    expect(BOOTSTRAP.level).toBe(0.95);
  });

  it('resamples within each setting, never across settings', () => {
    // Each group keeps its own values: the difference of the two groups' means never crosses zero.
    const diff = (g: number[][]) => Math.min(...g[1]) - Math.max(...g[0]);
    expect(bootstrapInterval([[1, 2], [5, 6]], diff).low).toBeGreaterThanOrEqual(3);
  });
});

describe('the decision rule', () => {
  it('says supported, not supported or inconclusive by where the interval lies', () => {
    expect(verdictOf({ low: 0.1, high: 0.4 }, '>', 0, 3)).toBe('supported');
    expect(verdictOf({ low: -0.4, high: 0 }, '>', 0, 3)).toBe('not supported');
    expect(verdictOf({ low: -0.2, high: 0.5 }, '>', 0, 3)).toBe('inconclusive at 3 seeds');
    expect(verdictOf({ low: -0.9, high: -0.1 }, '<', 0, 2)).toBe('supported');
    expect(verdictOf({ low: 0.55, high: 0.9 }, '>', 0.5, 2)).toBe('supported');
    expect(verdictOf({ low: 0.2, high: 0.5 }, '>', 0.5, 2)).toBe('not supported');
    expect(verdictOf({ low: NaN, high: NaN }, '>', 0, 2)).toBe('inconclusive at 2 seeds');
    const effect = (verdict: Effect['verdict']): Effect => ({ name: 'e', value: 0, interval: { low: 0, high: 0 }, side: '>', boundary: 0, verdict });
    expect(combineVerdicts([effect('supported'), effect('supported')], 3)).toBe('supported');
    expect(combineVerdicts([effect('supported'), effect('inconclusive at 3 seeds')], 3)).toBe('inconclusive at 3 seeds');
    expect(combineVerdicts([effect('supported'), effect('not supported')], 3)).toBe('not supported');
    expect(combineVerdicts([], 3)).toBe('inconclusive at 3 seeds');
  });
});

describe('the claims over seeds', () => {
  it('group replicates by every setting but the seed', () => {
    const groups = groupReplicates(sweep(() => 1, [0, 0, 0]));
    expect(groups.map((g) => g.label)).toEqual(['lr 0.02', 'lr 0.1', 'lr 0.5']);
    expect(groups.map((g) => g.runs.map((r) => r.overrides['train.seed']))).toEqual([SEEDS, SEEDS, SEEDS]);
  });

  it('support a height rising with lr across seeds, list each seed and the mean, and judge each sub-window', () => {
    const claims = judgeClaimsOverSeeds(sweep((lr) => lr, [0, 0.01, -0.01]))!;
    expect(claims.seeds).toBe(3);
    const height = claims.rows.find((r) => r.claim === 2)!;
    expect(height.verdict).toBe('supported');
    expect(height.settings[2]).toMatchObject({ label: 'lr 0.5', seeds: [0, 1, 2], values: [0.5, 0.51, 0.49] });
    expect(height.settings[2].mean).toBeCloseTo(0.5, 12);
    expect(height.settings[2].interval.low).toBeGreaterThanOrEqual(0.49);
    expect(height.settings[2].interval.high).toBeLessThanOrEqual(0.51);
    expect(height.effects[0].name).toBe('Spearman ρ(learning rate, median height)');
    // Replicates tie on lr: ranks of lr are 2, 2, 2, 5, 5, 5, 8, 8, 8 against heights ranked 1…9, so
    // ρ = Σ(rx − 5)(ry − 5) / √(Σ(rx − 5)² Σ(ry − 5)²) = 54 / √(54 · 60) = √0.9.
    expect(height.effects[0].value).toBeCloseTo(Math.sqrt(0.9), 12);
    expect(height.effects[0].interval.low).toBeGreaterThan(0.9);
    // Claim 1: 0.8 overall and in the second sub-window, 0.1 in the first.
    const interior = claims.rows.filter((r) => r.claim === 1);
    expect(interior.map((r) => [r.scope, r.verdict])).toEqual([['all analysed pairs', 'supported'], ['steps 1–50', 'not supported'], ['steps 51–100', 'supported']]);
    // Claim 3 along lr only (batch does not vary): at the end of training and each sub-window's end.
    const distance = claims.rows.filter((r) => r.claim === 3);
    expect(distance.map((r) => r.scope)).toEqual(['end of training', 'end of steps 1–50', 'end of steps 51–100']);
    expect(distance.every((r) => r.effects.length === 1 && r.verdict === 'supported')).toBe(true);
  });

  it('refute a height falling with lr, and call an effect smaller than the seeds\' spread inconclusive', () => {
    expect(judgeClaimsOverSeeds(sweep((lr) => -lr, [0, 0.01, -0.01]))!.rows.find((r) => r.claim === 2)!.verdict).toBe('not supported');
    const noisy = judgeClaimsOverSeeds(sweep((lr) => 0.01 * lr, [0, 0.5, -0.5]))!.rows.find((r) => r.claim === 2)!;
    expect(noisy.verdict).toBe('inconclusive at 3 seeds');
    expect(noisy.effects[0].interval.low).toBeLessThan(0);
    expect(noisy.effects[0].interval.high).toBeGreaterThan(0);
    // A fraction hovering around one half cannot be told from it at three seeds.
    const half = LRS.flatMap((lr) => SEEDS.map((seed) => replicate(lr, seed, { interior: [0.3, 0.5, 0.7][seed] })));
    expect(judgeClaimsOverSeeds(half)!.rows[0].verdict).toBe('inconclusive at 3 seeds');
  });

  it('are not judged without replicates, and the table shows every number', () => {
    expect(judgeClaimsOverSeeds(sweep((lr) => lr, [0, 0, 0]).filter((r) => r.overrides['train.seed'] === 0))).toBeNull();
    const table = seedClaimsTable(judgeClaimsOverSeeds(sweep((lr) => lr, [0, 0.01, -0.01]))!);
    expect(table.title).toBe('The claims over 3 seeds');
    const row = table.rows.find((r) => r[0] === '2')!;
    expect(row[3]).toMatch(/^Spearman ρ\(learning rate, median height\) = 0\.9487 \[0\.9\d*, 0\.9\d*\] \(claimed > 0\)$/);
    expect(row[4]).toBe('supported');
    expect(row[5]).toContain('lr 0.5: 0: 0.5, 1: 0.51, 2: 0.49 → 0.5 [');
    expect(table.note).toMatch(/95% bootstrap interval.*2000 resamples.*seed 2018/);
  });
});
