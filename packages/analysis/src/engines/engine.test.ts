import { describe, expect, it } from 'vitest';
import { interpolate, mlpSpec, parameterLayout, type ModelSpec } from '@sgdwalk/core';
import { createNaiveEngine, type InterpolationEngine, type InterpolationEngineOptions } from './engine.js';
import { createEvaluator } from './evaluator.js';
import { alphaChunkSize, createFastEngine } from './fast-engine.js';
import { randomEvaluationSet, trajectory, withEngine } from '../../test/random-inputs.js';

const alphas = [-0.5, 0, 0.25, 0.5, 0.75, 1, 1.5];

describe('naive interpolation engine', () => {
  const model = mlpSpec([6, 5], { inputShape: [4], classes: 3 });
  const layout = parameterLayout(model);
  const evalSet = randomEvaluationSet(4, 3, 23, 5);
  const [a, b] = trajectory(layout, 2, 3);

  it('averages per-batch sums over the whole set, evaluating θ(α) = (1 − α)a + αb', async () => {
    const evaluator = await createEvaluator({ model, layout, bnMode: 'batch', provider: 'cpu' });
    // the reference: batches of 8, 8 and 7 evaluated one by one
    const direct = async (state: Float32Array) => {
      let lossSum = 0;
      let correct = 0;
      for (const start of [0, 8, 16]) {
        const n = Math.min(8, 23 - start);
        const sums = await evaluator.evaluate(state, evalSet.x.subarray(start * 4), evalSet.labels.subarray(start), n);
        lossSum += sums.lossSum;
        correct += sums.correct;
      }
      return { loss: lossSum / 23, accuracy: correct / 23 };
    };
    try {
      const curve = await withEngine(createNaiveEngine({ model, layout, bnMode: 'batch', evalSet, evalBatchSize: 8, provider: 'cpu' }), async (engine) =>
        engine.interpolate(await engine.prepare(a), await engine.prepare(b), alphas),
      );
      for (const [k, alpha] of alphas.entries()) {
        const expected = await direct(interpolate(a, b, alpha));
        expect(curve.lossPerAlpha[k]).toBe(expected.loss);
        expect(curve.accuracyPerAlpha[k]).toBe(expected.accuracy);
      }
      expect(curve.lossPerAlpha[1]).toBe((await direct(a)).loss);
      expect(curve.lossPerAlpha[5]).toBe((await direct(b)).loss);
      // batch-statistics BN depends on the batching: one batch of 23 gives another curve
      const oneBatch = await withEngine(createNaiveEngine({ model, layout, bnMode: 'batch', evalSet, evalBatchSize: 23, provider: 'cpu' }), async (engine) =>
        engine.interpolate(await engine.prepare(a), await engine.prepare(b), [0]),
      );
      expect(oneBatch.lossPerAlpha[0]).not.toBeCloseTo(curve.lossPerAlpha[1], 4);
    } finally {
      await evaluator.release();
    }
  });
});

describe('fast interpolation engine', () => {
  const cases: Record<string, ModelSpec> = {
    'mlp-bn (projected first layer)': mlpSpec([7, 5], { inputShape: [2, 3], classes: 4 }),
    'batchnorm first (no projection)': {
      name: 'bn-first',
      inputShape: [6],
      classes: 4,
      layers: [{ type: 'batchnorm' }, { type: 'dense', units: 5 }, { type: 'relu' }, { type: 'dense', units: 4, bias: false }, { type: 'softmax-cross-entropy' }],
    },
  };
  for (const [label, model] of Object.entries(cases)) {
    for (const bnMode of ['batch', 'running'] as const) {
      it(`equals the naive engine to float32 rounding on several pairs (${label}, BN ${bnMode})`, async () => {
        const layout = parameterLayout(model);
        const evalSet = randomEvaluationSet(6, 4, 30, 9);
        const states = trajectory(layout, 4, 17);
        const opts: InterpolationEngineOptions = { model, layout, bnMode, evalSet, evalBatchSize: 12, provider: 'cpu' };
        const curves = async (engine: InterpolationEngine) => {
          const prepared = [];
          for (const state of states) prepared.push(await engine.prepare(state));
          const out = [];
          for (let i = 1; i < prepared.length; i++) out.push(await engine.interpolate(prepared[i - 1], prepared[i], alphas));
          return out;
        };
        const naive = await withEngine(createNaiveEngine(opts), curves);
        const fast = await withEngine(createFastEngine(opts), curves);
        for (const [pair, naiveCurve] of naive.entries()) {
          for (let k = 0; k < alphas.length; k++) {
            expect(Math.abs(fast[pair].lossPerAlpha[k] - naiveCurve.lossPerAlpha[k]) / naiveCurve.lossPerAlpha[k]).toBeLessThan(1e-5);
            expect(fast[pair].accuracyPerAlpha[k]).toBe(naiveCurve.accuracyPerAlpha[k]);
          }
          // the curve is not flat: the comparison covers different networks along it
          expect(Math.max(...naiveCurve.lossPerAlpha) - Math.min(...naiveCurve.lossPerAlpha)).toBeGreaterThan(1e-2);
        }
      });
    }
  }

  for (const [label, model] of Object.entries(cases)) {
    it(`prepares a state between two prepared ones as the naive engine evaluates it (${label})`, async () => {
      const layout = parameterLayout(model);
      const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet: randomEvaluationSet(6, 4, 30, 9), evalBatchSize: 12, provider: 'cpu' };
      const [a, b, c] = trajectory(layout, 3, 23);
      // the segment between the points at α = 0.37 of a → b and α = 0.62 of b → c (as floor segments are)
      const segment = async (engine: InterpolationEngine) => {
        const [pa, pb, pc] = [await engine.prepare(a), await engine.prepare(b), await engine.prepare(c)];
        const start = await engine.prepareBetween(pa, pb, 0.37);
        const end = await engine.prepareBetween(pb, pc, 0.62);
        expect(start.state).toEqual(interpolate(a, b, 0.37));
        return {
          between: await engine.interpolate(start, end, alphas),
          // the same points prepared from scratch
          direct: await engine.interpolate(await engine.prepare(interpolate(a, b, 0.37)), await engine.prepare(interpolate(b, c, 0.62)), alphas),
        };
      };
      const naive = await withEngine(createNaiveEngine(opts), segment);
      const fast = await withEngine(createFastEngine(opts), segment);
      expect(naive.between).toEqual(naive.direct);
      for (let k = 0; k < alphas.length; k++) {
        for (const curve of [fast.between, fast.direct]) {
          expect(Math.abs(curve.lossPerAlpha[k] - naive.between.lossPerAlpha[k]) / naive.between.lossPerAlpha[k]).toBeLessThan(1e-5);
          expect(curve.accuracyPerAlpha[k]).toBe(naive.between.accuracyPerAlpha[k]);
        }
      }
      expect(Math.max(...naive.between.lossPerAlpha) - Math.min(...naive.between.lossPerAlpha)).toBeGreaterThan(1e-2);
    });
  }

  it('splits a large α grid into chunks and still matches', async () => {
    expect(alphaChunkSize(500, 500, 11)).toBe(11);
    expect(alphaChunkSize(10_000, 4_000, 11)).toBe(1);
    expect(alphaChunkSize(2 ** 12, 2 ** 9, 41)).toBe(8);
    const model = cases['mlp-bn (projected first layer)'];
    const layout = parameterLayout(model);
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet: randomEvaluationSet(6, 4, 30, 9), evalBatchSize: 12, provider: 'cpu' };
    const [a, b] = trajectory(layout, 2, 17);
    const curve = (engine: InterpolationEngine) => Promise.all([engine.prepare(a), engine.prepare(b)]).then(([pa, pb]) => engine.interpolate(pa, pb, alphas));
    const whole = await withEngine(createFastEngine(opts), curve);
    // 12 examples × 7 units × 3 α per chunk: chunks of 3, 3 and 1 α
    expect(alphaChunkSize(12, 7, alphas.length, 12 * 7 * 3)).toBe(3);
    const chunked = await withEngine(createFastEngine(opts, { alphaBatchElements: 12 * 7 * 3 }), curve);
    for (let k = 0; k < alphas.length; k++) {
      expect(Math.abs(chunked.lossPerAlpha[k] - whole.lossPerAlpha[k]) / whole.lossPerAlpha[k]).toBeLessThan(1e-6);
      expect(chunked.accuracyPerAlpha[k]).toBe(whole.accuracyPerAlpha[k]);
    }
  });

  it('refuses a state another engine prepared', async () => {
    const model = mlpSpec([3], { inputShape: [2], classes: 2 });
    const layout = parameterLayout(model);
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet: randomEvaluationSet(2, 2, 4, 1), evalBatchSize: 4, provider: 'cpu' };
    const [a] = trajectory(layout, 1, 1);
    const foreign = await withEngine(createNaiveEngine(opts), (engine) => engine.prepare(a));
    await withEngine(createFastEngine(opts), async (engine) => {
      await expect(engine.interpolate(foreign, await engine.prepare(a), [0, 1])).rejects.toThrow(/not prepared by this engine/);
    });
  });
});
