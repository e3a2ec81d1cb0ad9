import { describe, expect, it } from 'vitest';
import { Rng, mlpSpec, parameterLayout, resolveLayers, slotOf, tensorView, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { createEvaluator, openModelSession } from './evaluator.js';
import type { BatchNormMode } from '@sgdwalk/onnx';

/** A random state in which every tensor (buffers included) matters: no zero biases, no unit variances. */
function randomState(layout: ParameterLayout, seed: number): Float32Array {
  const rng = new Rng(seed);
  const state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const view = tensorView(state, slot);
    for (let i = 0; i < view.length; i++) {
      view[i] = slot.name.endsWith('running_var') ? 0.2 + rng.uniform() : slot.name.endsWith('gamma') ? 0.5 + rng.uniform() : rng.normal() * 0.8;
    }
  }
  return state;
}

/** A straightforward float64 forward pass of the spec: the reference the ONNX graph must match. */
function referenceForward(spec: ModelSpec, layout: ParameterLayout, state: Float32Array, x: Float32Array, labels: Int32Array, n: number, mode: BatchNormMode) {
  const get = (name: string) => Array.from(tensorView(state, slotOf(layout, name)));
  let width = spec.inputShape.reduce((a, b) => a * b, 1);
  let h: number[][] = Array.from({ length: n }, (_, r) => Array.from(x.subarray(r * width, (r + 1) * width)));
  for (const layer of resolveLayers(spec)) {
    if (layer.type === 'dense') {
      const w = get(`${layer.name}.weight`);
      const b = layer.bias ? get(`${layer.name}.bias`) : new Array(layer.units).fill(0);
      h = h.map((row) => Array.from({ length: layer.units }, (_, j) => row.reduce((s, v, i) => s + v * w[i * layer.units + j], b[j])));
      width = layer.units;
    } else if (layer.type === 'batchnorm') {
      const gamma = get(`${layer.name}.gamma`);
      const beta = get(`${layer.name}.beta`);
      let mean: number[];
      let variance: number[];
      if (mode === 'batch') {
        mean = Array.from({ length: width }, (_, j) => h.reduce((s, row) => s + row[j], 0) / n);
        variance = Array.from({ length: width }, (_, j) => h.reduce((s, row) => s + (row[j] - mean[j]) ** 2, 0) / n);
      } else {
        mean = get(`${layer.name}.running_mean`);
        variance = get(`${layer.name}.running_var`);
      }
      h = h.map((row) => row.map((v, j) => ((v - mean[j]) / Math.sqrt(variance[j] + layer.epsilon)) * gamma[j] + beta[j]));
    } else if (layer.type === 'relu') {
      h = h.map((row) => row.map((v) => Math.max(0, v)));
    }
  }
  let lossSum = 0;
  let correct = 0;
  h.forEach((logits, r) => {
    const max = Math.max(...logits);
    const logSumExp = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
    lossSum += logSumExp - logits[labels[r]];
    if (logits.indexOf(max) === labels[r]) correct++;
  });
  return { lossSum, correct };
}

function randomBatch(features: number, classes: number, n: number, seed: number) {
  const rng = new Rng(seed);
  return {
    x: Float32Array.from({ length: n * features }, () => rng.normal()),
    labels: Int32Array.from({ length: n }, () => rng.int(classes)),
  };
}

const specs: Record<string, ModelSpec> = {
  // inputShape [2, 3]: the graph takes examples flattened to 6 features
  'mlp-bn': mlpSpec([5, 4], { inputShape: [2, 3], classes: 3 }),
  // no bias, a large epsilon: an ignored epsilon or a bias fed anyway would show
  'custom-epsilon': {
    name: 'custom-epsilon',
    inputShape: [4],
    classes: 3,
    layers: [{ type: 'dense', units: 6, bias: false }, { type: 'batchnorm', epsilon: 0.5 }, { type: 'relu' }, { type: 'dense', units: 3 }, { type: 'softmax-cross-entropy' }],
  },
};

describe('ONNX lowering', () => {
  for (const [label, spec] of Object.entries(specs)) {
    for (const mode of ['batch', 'running'] as const) {
      it(`matches a float64 reference forward pass (${label}, BN ${mode})`, async () => {
        const layout = parameterLayout(spec);
        const state = randomState(layout, 7);
        const features = spec.inputShape.reduce((a, b) => a * b, 1);
        const n = 9;
        const { x, labels } = randomBatch(features, spec.classes, n + 2, 11);
        const evaluator = await createEvaluator({ model: spec, layout, bnMode: mode, provider: 'cpu' });
        try {
          // n of n + 2 examples: the evaluator must use exactly the first n
          const sums = await evaluator.evaluate(state, x, labels, n);
          const reference = referenceForward(spec, layout, state, x, labels, n, mode);
          expect(Math.abs(sums.lossSum - reference.lossSum) / reference.lossSum).toBeLessThan(1e-5);
          expect(sums.correct).toBe(reference.correct);
          // the other BN mode gives a different loss: the mode really changes the graph
          const otherMode = referenceForward(spec, layout, state, x, labels, n, mode === 'batch' ? 'running' : 'batch');
          expect(Math.abs(otherMode.lossSum - reference.lossSum) / reference.lossSum).toBeGreaterThan(1e-2);
        } finally {
          await evaluator.release();
        }
      });
    }
  }

  it('declares the state tensors as graph inputs named as in the layout (running stats only in running mode)', async () => {
    const spec = specs['mlp-bn'];
    const layout = parameterLayout(spec);
    const batch = await openModelSession({ model: spec, layout, bnMode: 'batch', provider: 'cpu' });
    const running = await openModelSession({ model: spec, layout, bnMode: 'running', provider: 'cpu' });
    try {
      const trainables = layout.tensors.filter((t) => t.role === 'trainable').map((t) => t.name);
      expect([...batch.inputNames].sort()).toEqual(['labels', 'x', ...trainables].sort());
      expect([...running.inputNames].sort()).toEqual(['labels', 'x', ...layout.tensors.map((t) => t.name)].sort());
    } finally {
      await batch.release();
      await running.release();
    }
  });
  it('counts a tie for the largest logit as ArgMax does: the first class wins (hand-computed)', async () => {
    // one dense layer with zero weights: the logits are its bias, (1, 1, 0) for every example
    const spec: ModelSpec = { name: 'ties', inputShape: [2], classes: 3, layers: [{ type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }] };
    const layout = parameterLayout(spec);
    const state = new Float32Array(layout.totalSize);
    const bias = layout.tensors.find((slot) => slot.name.endsWith('.bias'))!;
    tensorView(state, bias).set([1, 1, 0]);
    const evaluator = await createEvaluator({ model: spec, layout, bnMode: 'batch', provider: 'cpu' });
    try {
      const sums = await evaluator.evaluate(state, new Float32Array(8), Int32Array.from([0, 1, 2, 0]), 4);
      // classes 0 and 1 tie: labels 0 (twice) are correct, label 1 is not (ArgMax picks 0), label 2 is not
      expect(sums.correct).toBe(2);
      // log Σ exp = log(2e + 1); the loss sum is 3·(lse − 1) + lse
      const lse = Math.log(2 * Math.E + 1);
      expect(sums.lossSum).toBeCloseTo(3 * (lse - 1) + lse, 5);
    } finally {
      await evaluator.release();
    }
  });
});
