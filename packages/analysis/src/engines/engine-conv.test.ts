import { describe, expect, it } from 'vitest';
import { inputFeatures, instantiateLibraryModel, interpolate, parameterLayout, resolveLayers, type ModelSpec } from '@sgdwalk/core';
import { createNaiveEngine, type InterpolationEngine, type InterpolationEngineOptions } from './engine.js';
import { createFastEngine, widestActivation } from './fast-engine.js';
import { randomEvaluationSet, trajectory, withEngine } from '../../test/random-inputs.js';

const alphas = [-0.5, 0, 0.25, 0.5, 0.75, 1, 1.5];

const cases: Record<string, ModelSpec> = {
  // every image layer type, a conv bias, both paddings, a flat BN after the flatten
  'small conv net': {
    name: 'small-conv',
    inputShape: [7, 7, 2],
    classes: 4,
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3 },
      { type: 'batchnorm' },
      { type: 'relu' },
      { type: 'maxpool', size: 2, padding: 'same' },
      { type: 'conv2d', filters: 4, kernel: [2, 3], stride: 2, padding: 'valid', bias: false },
      { type: 'avgpool', size: 2, stride: 1, padding: 'same' },
      { type: 'flatten' },
      { type: 'dense', units: 5 },
      { type: 'batchnorm' },
      { type: 'relu' },
      { type: 'dense', units: 'classes' },
      { type: 'softmax-cross-entropy' },
    ],
  },
  'resnet-bn depth 8': instantiateLibraryModel({ library: 'resnet-bn', depth: 8, width: 0.25, inputShape: [8, 8, 3], classes: 5 }),
  // α enters after the input: a pool and BN on the one-network image, an identity shortcut from before the first conv
  'pool and BN before the first conv, identity shortcut': {
    name: 'alpha-late',
    inputShape: [6, 6, 3],
    classes: 3,
    layers: [{ type: 'avgpool', size: 2, stride: 1 }, { type: 'batchnorm' }, { type: 'residual', filters: 3 }, { type: 'global-avgpool' }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }],
  },
};

describe('fast engine on conv nets', () => {
  it('evaluates a conv net one α per run by default: exactly the curves of the naive engine', async () => {
    const model = cases['small conv net'];
    const layout = parameterLayout(model);
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet: randomEvaluationSet(inputFeatures(model), model.classes, 30, 9), evalBatchSize: 12, provider: 'cpu' };
    const [a, b] = trajectory(layout, 2, 5, { he: true, bufferStep: 0.1 });
    const curve = (engine: InterpolationEngine) => Promise.all([engine.prepare(a), engine.prepare(b)]).then(([pa, pb]) => engine.interpolate(pa, pb, alphas));
    expect(await withEngine(createFastEngine(opts), curve)).toEqual(await withEngine(createNaiveEngine(opts), curve));
  });

  for (const [label, model] of Object.entries(cases)) {
    for (const bnMode of ['batch', 'running'] as const) {
      it(`α-batched equals the naive engine to float32 rounding (${label}, BN ${bnMode})`, async () => {
        const layout = parameterLayout(model);
        const opts: InterpolationEngineOptions = { model, layout, bnMode, evalSet: randomEvaluationSet(inputFeatures(model), model.classes, 30, 9), evalBatchSize: 12, provider: 'cpu' };
        const states = trajectory(layout, 3, 17, { he: true, bufferStep: 0.1 });
        const curves = async (engine: InterpolationEngine) => {
          const prepared = [];
          for (const state of states) prepared.push(await engine.prepare(state));
          const out = [];
          for (let i = 1; i < prepared.length; i++) out.push(await engine.interpolate(prepared[i - 1], prepared[i], alphas));
          // a shorter grid: another α count, another graph
          out.push(await engine.interpolate(prepared[0], prepared[2], alphas.slice(1, 4)));
          return out;
        };
        const naive = await withEngine(createNaiveEngine(opts), curves);
        const fast = await withEngine(createFastEngine(opts, { alphaBatchImages: true }), curves);
        let worst = 0;
        for (const [line, naiveCurve] of naive.entries()) {
          for (let k = 0; k < naiveCurve.lossPerAlpha.length; k++) {
            worst = Math.max(worst, Math.abs(fast[line].lossPerAlpha[k] - naiveCurve.lossPerAlpha[k]) / naiveCurve.lossPerAlpha[k]);
            expect(fast[line].accuracyPerAlpha[k]).toBe(naiveCurve.accuracyPerAlpha[k]);
          }
          // the curve is not flat: the comparison covers different networks along it
          expect(Math.max(...naiveCurve.lossPerAlpha) - Math.min(...naiveCurve.lossPerAlpha)).toBeGreaterThan(1e-2);
        }
        expect(worst).toBeLessThan(1e-5);
      });
    }
  }

  it('chunks the α grid by the widest conv activation and still matches', async () => {
    const model = cases['small conv net'];
    // conv0 gives 7·7·3 = 147 values per example, the widest
    expect(widestActivation(resolveLayers(model))).toBe(147);
    const layout = parameterLayout(model);
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet: randomEvaluationSet(inputFeatures(model), model.classes, 30, 9), evalBatchSize: 12, provider: 'cpu' };
    const [a, b] = trajectory(layout, 2, 5, { he: true, bufferStep: 0.1 });
    const curve = (engine: InterpolationEngine) => Promise.all([engine.prepare(a), engine.prepare(b)]).then(([pa, pb]) => engine.interpolate(pa, pb, alphas));
    const whole = await withEngine(createFastEngine(opts, { alphaBatchImages: true }), curve);
    // chunks of 3, 3 and 1 α: two more graphs
    const chunked = await withEngine(createFastEngine(opts, { alphaBatchImages: true, alphaBatchElements: 12 * 147 * 3 }), curve);
    const naive = await withEngine(createNaiveEngine(opts), curve);
    for (let k = 0; k < alphas.length; k++) {
      for (const fast of [whole, chunked]) {
        expect(Math.abs(fast.lossPerAlpha[k] - naive.lossPerAlpha[k]) / naive.lossPerAlpha[k]).toBeLessThan(1e-5);
        expect(fast.accuracyPerAlpha[k]).toBe(naive.accuracyPerAlpha[k]);
      }
    }
  });

  it('prepares a state between two prepared ones as the naive engine evaluates it', async () => {
    const model = cases['resnet-bn depth 8'];
    const layout = parameterLayout(model);
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet: randomEvaluationSet(inputFeatures(model), model.classes, 20, 3), evalBatchSize: 10, provider: 'cpu' };
    const [a, b, c] = trajectory(layout, 3, 23, { he: true, bufferStep: 0.1 });
    const segment = async (engine: InterpolationEngine) => {
      const [pa, pb, pc] = [await engine.prepare(a), await engine.prepare(b), await engine.prepare(c)];
      return engine.interpolate(await engine.prepareBetween(pa, pb, 0.37), await engine.prepareBetween(pb, pc, 0.62), alphas);
    };
    const naive = await withEngine(createNaiveEngine(opts), segment);
    const fast = await withEngine(createFastEngine(opts, { alphaBatchImages: true }), segment);
    const direct = await withEngine(createNaiveEngine(opts), async (engine) =>
      engine.interpolate(await engine.prepare(interpolate(a, b, 0.37)), await engine.prepare(interpolate(b, c, 0.62)), alphas),
    );
    expect(naive).toEqual(direct);
    for (let k = 0; k < alphas.length; k++) {
      expect(Math.abs(fast.lossPerAlpha[k] - naive.lossPerAlpha[k]) / naive.lossPerAlpha[k]).toBeLessThan(1e-5);
      expect(fast.accuracyPerAlpha[k]).toBe(naive.accuracyPerAlpha[k]);
    }
  });
});
