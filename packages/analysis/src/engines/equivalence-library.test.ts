import { beforeAll, describe, expect, it } from 'vitest';
import {
  Rng, inputFeatures, instantiateLibraryModel, parameterLayout, resolveLayers, silentLogger, tensorView, type LibraryReference, type ModelSpec, type ParameterLayout,
} from '@sgdwalk/core';
import { DeviceState, correctCount, crossEntropy, forwardLogits, selectBackend, tf } from '@sgdwalk/model';
import { createEvaluator } from './evaluator.js';
import type { BatchNormMode } from '@sgdwalk/onnx';

/**
 * The ONNX graph of every library model computes the TensorFlow.js forward pass (the one training runs):
 * the same mean cross-entropy and correct count, in both batch-norm modes, on random states and inputs.
 */

/**
 * A random state in which every tensor matters: weights at He scale (activations stay O(1) through the
 * depth), non-zero biases and β, γ and running statistics away from their initial 1 and 0.
 */
function randomState(layout: ParameterLayout, seed: number): Float32Array {
  const rng = new Rng(seed);
  const state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const view = tensorView(state, slot);
    const fanIn = slot.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < view.length; i++) {
      if (slot.name.endsWith('.weight')) view[i] = rng.normal() * Math.sqrt(2 / fanIn);
      else if (slot.name.endsWith('running_var') || slot.name.endsWith('gamma')) view[i] = 0.5 + rng.uniform();
      else view[i] = rng.normal() * 0.5;
    }
  }
  return state;
}

/** Mean cross-entropy and correct count of the TensorFlow.js forward pass. */
function tfjsReference(spec: ModelSpec, layout: ParameterLayout, state: Float32Array, x: Float32Array, labels: Int32Array, mode: BatchNormMode) {
  const device = new DeviceState(layout, state);
  try {
    return tf.tidy(() => {
      const input = tf.tensor2d(x, [labels.length, inputFeatures(spec)]);
      const logits = forwardLogits(resolveLayers(spec), device.lookup(), input, mode);
      const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), spec.classes), 'float32') as tf.Tensor2D;
      return { loss: crossEntropy(logits, oneHot).dataSync()[0], correct: correctCount(logits, tf.tensor1d(labels, 'int32')).dataSync()[0] };
    });
  } finally {
    device.dispose();
  }
}

/** Small instances of each library model: narrow, shallow, small images. */
const library: LibraryReference[] = [
  { library: 'mlp-bn', width: 0.05, inputShape: [8, 8, 3] },
  // five 2×2 max pools need 32 × 32 inputs
  { library: 'vgg11-bn', width: 0.125, inputShape: [32, 32, 3] },
  { library: 'resnet-bn', depth: 8, width: 0.25, inputShape: [16, 16, 3] },
  // two blocks per stage: identity shortcuts inside a stage, projections between stages
  { library: 'resnet-bn', depth: 14, width: 0.25, inputShape: [8, 8, 3] },
];

/**
 * What the library leaves out: a flatten of a 3 × 3 image (VGG flattens a 1 × 1 one, where channel first and
 * channel last agree), a conv bias, average pooling with SAME padding, a strided VALID conv with an oblong
 * kernel, batch norm on the flat features after it.
 */
const everyLayer: ModelSpec = {
  name: 'every-layer',
  inputShape: [9, 9, 2],
  classes: 5,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'avgpool', size: 3, stride: 2, padding: 'same' },
    { type: 'residual', filters: 6, stride: 2, shortcut: 'projection' },
    { type: 'conv2d', filters: 5, kernel: [1, 2], stride: [1, 2], padding: 'valid' },
    { type: 'maxpool', size: 2, stride: 1, padding: 'same' },
    { type: 'flatten' },
    { type: 'dense', units: 7 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'dense', units: 'classes' },
    { type: 'softmax-cross-entropy' },
  ],
};

describe('ONNX ↔ TensorFlow.js on every library model', () => {
  beforeAll(async () => {
    await selectBackend('cpu', silentLogger);
  });

  const cases = [...library.map((ref) => ({ spec: instantiateLibraryModel({ ...ref, classes: 5 }), shape: ref.inputShape! })), { spec: everyLayer, shape: everyLayer.inputShape }];
  for (const { spec, shape } of cases) {
    for (const mode of ['batch', 'running'] as const) {
      it(`${spec.name} on [${shape}], BN ${mode}: the same loss and correct count`, async () => {
        const layout = parameterLayout(spec);
        const n = 24;
        const evaluator = await createEvaluator({ model: spec, layout, bnMode: mode, provider: 'cpu' });
        try {
          let worst = 0;
          for (const seed of [1, 2]) {
            const rng = new Rng(100 + seed);
            const x = Float32Array.from({ length: n * inputFeatures(spec) }, () => rng.normal());
            const labels = Int32Array.from({ length: n }, () => rng.int(spec.classes));
            const state = randomState(layout, seed);
            const onnx = await evaluator.evaluate(state, x, labels, n);
            const reference = tfjsReference(spec, layout, state, x, labels, mode);
            worst = Math.max(worst, Math.abs(onnx.lossSum / n - reference.loss) / reference.loss);
            expect(onnx.correct).toBe(reference.correct);
            // the loss is far from chance level and from zero: the comparison is of two real networks
            expect(reference.loss).toBeGreaterThan(0.05);
          }
          expect(worst).toBeLessThan(1e-4);
          console.log(`${spec.name} BN ${mode}: max relative loss difference ${worst.toExponential(2)}`);
        } finally {
          await evaluator.release();
        }
      });
    }
  }
});
