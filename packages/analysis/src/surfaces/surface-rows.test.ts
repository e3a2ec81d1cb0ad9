import { describe, expect, it } from 'vitest';
import { Rng, mlpSpec, parameterLayout, slotOf, type ModelSpec } from '@sgdwalk/core';
import { createNaiveEngine, type InterpolationEngine, type InterpolationEngineOptions } from '../engines/engine.js';
import { createFastEngine } from '../engines/fast-engine.js';
import { filterNormalizedDirection } from './surface-directions.js';
import { gridValues, planeState, type Plane } from './surface-plane.js';
import { evaluatePointsPlain, evaluateSurfaceRow, preparePlane, surfaceRowKey } from './surface-rows.js';
import { randomEvaluationSet, randomState } from '../../test/random-inputs.js';

async function surfaceBy(engine: InterpolationEngine, plane: Plane, as: number[], bs: number[]): Promise<{ loss: number[]; accuracy: number[] }> {
  try {
    const prepared = await preparePlane(engine, plane, [as[0], as.at(-1)!], [bs[0], bs.at(-1)!]);
    const loss: number[] = [];
    const accuracy: number[] = [];
    for (const b of bs) {
      const row = await evaluateSurfaceRow(prepared, { b, as });
      loss.push(...row.lossPerAlpha);
      accuracy.push(...row.accuracyPerAlpha);
    }
    return { loss, accuracy };
  } finally {
    await engine.release();
  }
}

const points = (as: number[], bs: number[]) => bs.flatMap((b) => as.map((a) => ({ a, b })));

describe('a surface whose loss is known in closed form', () => {
  // Softmax regression: logits = x·W + bias, so the loss at any point of the plane is a sum of
  // log-sum-exps computed here in float64, independently of ONNX.
  const model: ModelSpec = { name: 'softmax-regression', inputShape: [4], classes: 3, layers: [{ type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }] };
  const layout = parameterLayout(model);
  const evalSet = randomEvaluationSet(4, 3, 37, 2);
  const rng = new Rng(9);
  const plane: Plane = { centre: randomState(layout, rng), d1: randomState(layout, rng), d2: randomState(layout, rng) };

  function closedForm(a: number, b: number): { loss: number; accuracy: number } {
    const theta = Float64Array.from(plane.centre, (c, i) => c + a * plane.d1[i] + b * plane.d2![i]);
    const w = theta.subarray(slotOf(layout, 'dense0.weight').offset);
    const bias = theta.subarray(slotOf(layout, 'dense0.bias').offset);
    let loss = 0;
    let correct = 0;
    for (let n = 0; n < evalSet.count; n++) {
      const logits = [0, 1, 2].map((k) => bias[k] + [0, 1, 2, 3].reduce((s, f) => s + evalSet.x[n * 4 + f] * w[f * 3 + k], 0));
      const top = Math.max(...logits);
      const logSumExp = top + Math.log(logits.reduce((s, z) => s + Math.exp(z - top), 0));
      loss += logSumExp - logits[evalSet.labels[n]];
      if (logits.indexOf(top) === evalSet.labels[n]) correct++;
    }
    return { loss: loss / evalSet.count, accuracy: correct / evalSet.count };
  }

  it('is reproduced on a 5 × 4 grid by the fast engine (rows of the plane, three projections)', async () => {
    const as = gridValues(-1, 1.5, 5);
    const bs = gridValues(-0.5, 1, 4);
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet, evalBatchSize: 10, provider: 'cpu' };
    const surface = await surfaceBy(await createFastEngine(opts), plane, as, bs);
    for (const [i, { a, b }] of points(as, bs).entries()) {
      const expected = closedForm(a, b);
      expect(Math.abs(surface.loss[i] - expected.loss) / expected.loss).toBeLessThan(1e-5);
      expect(surface.accuracy[i]).toBe(expected.accuracy);
    }
    // the grid is not flat: the test would notice a surface drawn at the centre only
    expect(Math.max(...surface.loss) - Math.min(...surface.loss)).toBeGreaterThan(0.5);
  });
});

describe('fast surface = plain evaluation', () => {
  const model = mlpSpec([7, 5], { inputShape: [6], classes: 4 }); // dense, BN, ReLU ×2, then logits
  const layout = parameterLayout(model);
  const evalSet = randomEvaluationSet(6, 4, 45, 3);
  const rng = new Rng(11);
  const centre = randomState(layout, rng);
  const plane: Plane = { centre, d1: filterNormalizedDirection(layout, centre, 1, 1, true), d2: filterNormalizedDirection(layout, centre, 1, 2, false) };
  const as = gridValues(-1, 1, 5);
  const bs = gridValues(-1, 1, 3);

  for (const bnMode of ['batch', 'running'] as const) {
    it(`on every grid point, BN ${bnMode}, with the naive engine's rows equal too`, async () => {
      const opts: InterpolationEngineOptions = { model, layout, bnMode, evalSet, evalBatchSize: 16, provider: 'cpu' };
      const plain = await evaluatePointsPlain(opts, plane, points(as, bs));
      const fast = await surfaceBy(await createFastEngine(opts), plane, as, bs);
      const naive = await surfaceBy(await createNaiveEngine(opts), plane, as, bs);
      for (let i = 0; i < plain.lossPerAlpha.length; i++) {
        expect(Math.abs(fast.loss[i] - plain.lossPerAlpha[i]) / plain.lossPerAlpha[i]).toBeLessThan(1e-5);
        expect(Math.abs(naive.loss[i] - plain.lossPerAlpha[i]) / plain.lossPerAlpha[i]).toBeLessThan(1e-5);
        expect(Math.abs(fast.accuracy[i] - plain.accuracyPerAlpha[i])).toBeLessThanOrEqual(1 / evalSet.count);
      }
      expect(Math.max(...plain.lossPerAlpha) - Math.min(...plain.lossPerAlpha)).toBeGreaterThan(1e-2);
    });
  }

  it('rows ask for a outside the prepared range too (a larger grid extends a smaller one)', async () => {
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet, evalBatchSize: 16, provider: 'cpu' };
    const engine = await createFastEngine(opts);
    try {
      const prepared = await preparePlane(engine, plane, [-0.5, 0.5], [0, 1]);
      expect(prepared.projections).toBe(3);
      const row = await evaluateSurfaceRow(prepared, { b: -1, as: [-2, 0, 3] });
      const plain = await evaluatePointsPlain(opts, plane, [{ a: -2, b: -1 }, { a: 0, b: -1 }, { a: 3, b: -1 }]);
      for (let k = 0; k < 3; k++) expect(Math.abs(row.lossPerAlpha[k] - plain.lossPerAlpha[k]) / plain.lossPerAlpha[k]).toBeLessThan(1e-5);
    } finally {
      await engine.release();
    }
  });

  it('a line (no second direction) is one row at b = 0', async () => {
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet, evalBatchSize: 16, provider: 'cpu' };
    const line: Plane = { centre, d1: plane.d1 };
    const surface = await surfaceBy(await createFastEngine(opts), line, as, [0]);
    const plain = await evaluatePointsPlain(opts, line, as.map((a) => ({ a, b: 0 })));
    for (let k = 0; k < as.length; k++) expect(Math.abs(surface.loss[k] - plain.lossPerAlpha[k]) / plain.lossPerAlpha[k]).toBeLessThan(1e-5);
    expect(planeState(line, 1, 5)).toEqual(planeState(line, 1, 0));
  });

  it('keys a row by its plane and its points', () => {
    const key = surfaceRowKey('plane', { b: 0.5, as: [0, 1] });
    expect(surfaceRowKey('plane', { b: 0.5, as: [0, 1] })).toBe(key);
    expect(surfaceRowKey('plane', { b: 0.25, as: [0, 1] })).not.toBe(key);
    expect(surfaceRowKey('other', { b: 0.5, as: [0, 1] })).not.toBe(key);
  });
});
