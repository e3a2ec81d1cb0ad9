import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Rng, interpolate, mlpSpec, parameterLayout, slotOf, tensorView } from '@sgdwalk/core';
import { createEvaluator } from './evaluator.js';
import { labelTensor, outputValues } from './feeds.js';
import { GRAPH_NAMES, lowerInterpolationModel } from '@sgdwalk/onnx';

const model = mlpSpec([6, 5], { inputShape: [4], classes: 3 });
const layout = parameterLayout(model);

function randomState(rng: Rng): Float32Array {
  const state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const view = tensorView(state, slot);
    for (let i = 0; i < view.length; i++) view[i] = slot.name.endsWith('running_var') || slot.name.endsWith('gamma') ? 0.5 + rng.uniform() : rng.normal() * 0.7;
  }
  return state;
}

/** X·W of the first layer, rounded to float32 as the projection graph's output is. */
function projection(state: Float32Array, x: Float32Array, n: number): Float32Array {
  const slot = slotOf(layout, 'dense0.weight');
  const [inputs, units] = slot.shape;
  const w = tensorView(state, slot);
  const out = new Float32Array(n * units);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < units; j++) {
      let sum = 0;
      for (let i = 0; i < inputs; i++) sum += x[r * inputs + i] * w[i * units + j];
      out[r * units + j] = sum;
    }
  }
  return out;
}

function endFeeds(session: ort.InferenceSession, a: Float32Array, b: Float32Array): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const slot of layout.tensors) {
    for (const [name, state] of [[GRAPH_NAMES.endA(slot.name), a], [GRAPH_NAMES.endB(slot.name), b]] as const) {
      if (session.inputNames.includes(name)) feeds[name] = new ort.Tensor('float32', tensorView(state, slot), slot.shape);
    }
  }
  return feeds;
}

async function inputNames(mode: 'batch' | 'running'): Promise<string[]> {
  const session = await ort.InferenceSession.create(lowerInterpolationModel(model, layout, mode));
  try {
    return [...session.inputNames];
  } finally {
    await session.release();
  }
}

describe('interpolation graph of a dense net', () => {
  it('normalises the first layer with closed-form batch statistics: each α as the plain graph evaluates θ(α)', async () => {
    const rng = new Rng(7);
    const a = randomState(rng);
    const b = a.map((v) => v + rng.normal() * 0.3 * Math.abs(v));
    // Inputs far from zero mean: the first layer's pre-activations have means several times their spread,
    // where statistics from uncentred moments would lose digits. α well outside [0, 1] as well.
    const n = 40;
    const x = Float32Array.from({ length: n * 4 }, () => 6 + rng.normal());
    const labels = Int32Array.from({ length: n }, () => rng.int(3));
    const alphas = [-3, -0.5, 0, 0.3, 1, 2.5, 4];
    const session = await ort.InferenceSession.create(lowerInterpolationModel(model, layout, 'batch'));
    const evaluator = await createEvaluator({ model, layout, bnMode: 'batch', provider: 'cpu' });
    try {
      const outputs = await session.run({
        ...endFeeds(session, a, b),
        [GRAPH_NAMES.coefA]: new ort.Tensor('float32', Float32Array.from(alphas, (alpha) => 1 - alpha), [alphas.length]),
        [GRAPH_NAMES.coefB]: new ort.Tensor('float32', Float32Array.from(alphas), [alphas.length]),
        [GRAPH_NAMES.projectionA]: new ort.Tensor('float32', projection(a, x, n), [n, 6]),
        [GRAPH_NAMES.projectionB]: new ort.Tensor('float32', projection(b, x, n), [n, 6]),
        [GRAPH_NAMES.labels]: labelTensor(labels),
      });
      const lossSums = outputValues(outputs, GRAPH_NAMES.lossSum);
      const correct = outputValues(outputs, GRAPH_NAMES.correct);
      const losses: number[] = [];
      for (const [k, alpha] of alphas.entries()) {
        const expected = await evaluator.evaluate(interpolate(a, b, alpha), x, labels, n);
        expect(Math.abs(lossSums[k] - expected.lossSum) / expected.lossSum).toBeLessThan(1e-5);
        expect(correct[k]).toBe(expected.correct);
        losses.push(expected.lossSum);
      }
      // different networks along the line, not one network seven times
      expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(0.1);
    } finally {
      await session.release();
      await evaluator.release();
    }
  });

  it('leaves out the bias of a dense layer before batch-statistics batch norm, and only there', async () => {
    const biases = (names: string[]) => names.filter((name) => name.endsWith('.bias')).sort();
    // dense0 and dense1 feed batch norms, whose batch means take the bias out; dense2 feeds the loss.
    expect(biases(await inputNames('batch'))).toEqual(['a/dense2.bias', 'b/dense2.bias']);
    // running statistics are fixed per network: every bias counts
    expect(biases(await inputNames('running'))).toEqual(['a/dense0.bias', 'a/dense1.bias', 'a/dense2.bias', 'b/dense0.bias', 'b/dense1.bias', 'b/dense2.bias']);
  });
});
