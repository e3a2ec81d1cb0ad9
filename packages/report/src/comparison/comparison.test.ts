import { describe, expect, it } from 'vitest';
import type { PairMetrics } from '@sgdwalk/core';
import { compareRun, singleStepPairs, interiorBySubWindow, pointLabel, quartiles, sharedSubWindowSize, subWindowSize, trainAccuracySteps, type ComparedPoint } from './comparison.js';
import { syntheticInputs } from '../../test/fixture.js';

/** A pair (θ_{t−1}, θ_t) with only the fields the comparison reads set meaningfully. */
function pair(stepB: number, opts: { span?: number; height?: number; floor?: number; interior?: boolean; distance?: number } = {}): PairMetrics {
  const span = opts.span ?? 1;
  return {
    pair: stepB, stepA: stepB - span, stepB, alphaStar: opts.interior === false ? 1 : 0.5, floor: opts.floor ?? 1, height: opts.height ?? 0.1,
    interiorMinimum: opts.interior ?? true, convex: true, lossA: 1.1, lossB: 1.05, distanceFromInit: opts.distance ?? stepB, updateNorm: 0.1, updateCosine: -0.1, key: `k${stepB}`,
  };
}

describe('comparison statistics', () => {
  it('quartiles interpolate linearly and ignore non-finite values', () => {
    expect(quartiles([5, 1, 4, 2, 3])).toEqual({ n: 5, q1: 2, median: 3, q3: 4 });
    // n = 4: positions 0.75, 1.5, 2.25 between the sorted values 1, 2, 3, 4.
    expect(quartiles([4, 3, NaN, 2, 1])).toEqual({ n: 4, q1: 1.75, median: 2.5, q3: 3.25 });
    const none = quartiles([]);
    expect(none.n).toBe(0);
    expect(none.median).toBeNaN();
  });

  it('keep only single-step pairs when there are any', () => {
    const pairs = [pair(100, { span: 1 }), pair(1), pair(2), pair(200, { span: 100 }), pair(1563, { span: 1363 })];
    expect(singleStepPairs(pairs).map((p) => p.stepB)).toEqual([1, 2, 100]);
    expect(singleStepPairs([pair(200, { span: 100 }), pair(100, { span: 100 })]).map((p) => p.stepB)).toEqual([100, 200]);
  });

  it('choose round sub-windows: at most ten of 1, 2, 5 × 10ⁿ steps', () => {
    expect(subWindowSize(100)).toBe(10);
    expect(subWindowSize(98)).toBe(10);
    expect(subWindowSize(101)).toBe(20);
    expect(subWindowSize(7)).toBe(1);
    expect(subWindowSize(11)).toBe(2);
    expect(subWindowSize(1563)).toBe(200);
    expect(subWindowSize(0)).toBe(1);
  });

  it('count interior minima per sub-window by the pair\'s later step', () => {
    // Steps 1–25; interior at 3 | 12, 13, 20 | 21–25.
    const interior = new Set([3, 12, 13, 20, 21, 22, 23, 24, 25]);
    const pairs = Array.from({ length: 25 }, (_, i) => pair(i + 1, { interior: interior.has(i + 1) }));
    expect(interiorBySubWindow(pairs, 10)).toEqual([
      // distance: ‖θₜ − θ₀‖₂ of the sub-window's last pair (here its step).
      { from: 1, to: 10, pairs: 10, interior: 1, fraction: 0.1, distance: 10 },
      { from: 11, to: 20, pairs: 10, interior: 3, fraction: 0.3, distance: 20 },
      { from: 21, to: 30, pairs: 5, interior: 5, fraction: 1, distance: 25 },
    ]);
    // A window starting later leaves the empty sub-windows out.
    expect(interiorBySubWindow([pair(96, { interior: false, distance: 7 }), pair(95)], 10)).toEqual([{ from: 91, to: 100, pairs: 2, interior: 1, fraction: 0.5, distance: 7 }]);
  });

  it('label points by their swept settings', () => {
    expect(pointLabel({ 'train.lr': 0.1, 'train.batchSize': 128 })).toBe('lr 0.1, batch 128');
    expect(pointLabel({ 'train.momentum': 0.9, 'train.checkpoints.every': 5 })).toBe('momentum 0.9, checkpoints.every 5');
    expect(trainAccuracySteps(1563)).toBe(79);
    expect(trainAccuracySteps(97)).toBe(10);
    expect(trainAccuracySteps(6)).toBe(6);
  });

  it('derive every number of a run from its outputs', () => {
    const inputs = syntheticInputs({ steps: 40, pairs: 5 });
    // Pairs 1–4 single-step, then a sparse pair 4 → 40 that must not count.
    inputs.pairs = [
      pair(1, { height: 0.4, floor: 2, interior: false }),
      pair(2, { height: 0.1, floor: 1.5 }),
      pair(3, { height: 0.3, floor: 1.2 }),
      pair(4, { height: 0.2, floor: 1.0 }),
      pair(40, { span: 36, height: 9, floor: 0.1, interior: false }),
    ];
    inputs.steps = inputs.steps.map((s) => ({ ...s, distanceFromInit: s.step / 10, accuracy: s.step > 30 ? 0.9 : 0.5, gradCosine: s.step === 1 ? NaN : s.step % 4 === 0 ? -0.5 : 0.5 }));
    inputs.evaluations = [
      { epoch: 1, step: 20, split: 'validation', loss: 1, accuracy: 0.7 },
      { epoch: 2, step: 40, split: 'validation', loss: 1, accuracy: 0.85 },
      { epoch: 2, step: 40, split: 'test', loss: 1, accuracy: 0.8 },
    ];
    const point: ComparedPoint = { id: 'lr-0.1_batchSize-32', overrides: { 'train.lr': 0.1, 'train.batchSize': 32 }, inputs };
    expect(sharedSubWindowSize([point])).toBe(1);
    const r = compareRun(point, 2);
    expect(r).toMatchObject({ label: 'lr 0.1, batch 32', lr: 0.1, batchSize: 32, pairs: 4, window: { from: 0, to: 4 } });
    expect(r.interiorMinimum).toEqual({ count: 3, fraction: 0.75 });
    expect(r.interiorBySubWindow.map((w) => w.fraction)).toEqual([0.5, 1]);
    // All four heights 0.1, 0.2, 0.3, 0.4: positions 0.75, 1.5, 2.25; interior only 0.1, 0.2, 0.3: 0.5, 1, 1.5.
    const close = (q: { n: number; q1: number; median: number; q3: number }, expected: number[]) => {
      expect(q.n).toBe(expected[0]);
      expect([q.q1, q.median, q.q3].map((v) => Number(v.toFixed(12)))).toEqual(expected.slice(1));
    };
    close(r.height.all, [4, 0.175, 0.25, 0.325]);
    close(r.height.interior, [3, 0.15, 0.2, 0.25]);
    expect(r.medianFloor).toBeCloseTo(1.35, 12);
    expect(r.distance).toEqual({ windowEndStep: 4, windowEnd: 0.4, endStep: 40, end: 4 });
    // Steps 2–40: 39 cosines, those at multiples of 4 (10 of them) negative.
    expect(r.gradCosine.steps).toBe(39);
    expect(r.gradCosine.fractionNegative).toBeCloseTo(10 / 39, 12);
    expect(r.gradCosine.mean).toBeCloseTo((29 * 0.5 - 10 * 0.5) / 39, 12);
    // Last 10 steps (31–40) all at 0.9; the latest test evaluation is 0.8.
    expect(r.accuracy).toMatchObject({ trainSteps: 10, validation: 0.85, test: 0.8, gapAgainst: 'test' });
    expect(r.accuracy.train).toBeCloseTo(0.9, 12);
    expect(r.accuracy.gap).toBeCloseTo(0.1, 12);
    expect(r.sharpness.map((s) => s.step)).toEqual([0, 10, 20, 30, 40]);
  });

  it('fall back to validation for the gap and say when nothing was evaluated', () => {
    const inputs = syntheticInputs();
    inputs.evaluations = inputs.evaluations.filter((e) => e.split === 'validation');
    const r = compareRun({ id: 'x', overrides: {}, inputs }, 1);
    expect(r.accuracy.gapAgainst).toBe('validation');
    expect(r.label).toBe('base');
    inputs.evaluations = [];
    const none = compareRun({ id: 'x', overrides: {}, inputs }, 1);
    expect(none.accuracy.gapAgainst).toBe('none');
    expect(none.accuracy.gap).toBeNaN();
  });
});
