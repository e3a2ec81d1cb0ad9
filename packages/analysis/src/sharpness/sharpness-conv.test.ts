import { describe, expect, it } from 'vitest';
import { Rng, initialState, parameterLayout, silentLogger, type LayerSpec, type ModelSpec } from '@sgdwalk/core';
import { computeSharpness } from './sharpness.js';

/**
 * Sharpness of conv nets: @sgdwalk/model does not vouch for double backprop through conv2d, pooling or
 * residual blocks, so their Hessian-vector products are central finite differences of gradients.
 */

function subset(count: number, features: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  return {
    x: Float32Array.from({ length: count * features }, () => rng.normal()),
    labels: Int32Array.from({ length: count }, () => rng.int(classes)),
    count,
  };
}

const model = (name: string, inputShape: number[], layers: LayerSpec[]): ModelSpec => ({
  name,
  inputShape,
  classes: 3,
  layers: [...layers, { type: 'softmax-cross-entropy' }],
});

describe('sharpness of conv nets', () => {
  it('uses finite differences for a conv net and finds the exact top eigenvalue of the same function written with dense layers', async () => {
    // A 3×3 VALID conv over a 3×3 image is a dense layer on the flattened (H, W, C) pixels: its filters
    // [3, 3, 2, 4] are the dense weight [18, 4] element for element, so both nets share one flat state.
    // No ReLU: a finite-difference step across a kink would add an error exact products do not have.
    const conv = model('conv-as-dense', [3, 3, 2], [{ type: 'conv2d', filters: 4, kernel: 3, padding: 'valid' }, { type: 'batchnorm' }, { type: 'global-avgpool' }, { type: 'dense', units: 3 }]);
    const dense = model('dense', [18], [{ type: 'dense', units: 4 }, { type: 'batchnorm' }, { type: 'dense', units: 3 }]);
    const convLayout = parameterLayout(conv);
    const denseLayout = parameterLayout(dense);
    expect(convLayout.tensors.map((t) => [t.offset, t.size])).toEqual(denseLayout.tensors.map((t) => [t.offset, t.size]));
    const state = initialState(denseLayout, 3);
    const data = subset(20, 18, 3, 4);
    const common = { state, ...data, batchSize: 10, iterations: 20, seed: 1, backend: 'cpu' as const, log: silentLogger };
    const exact = await computeSharpness({ ...common, model: dense, layout: denseLayout });
    const fd = await computeSharpness({ ...common, model: conv, layout: convLayout });
    expect(exact.method).toBe('exact');
    expect(fd.method).toBe('finite-difference');
    expect(exact.topEigenvalue).toBeGreaterThan(0.05);
    expect(Math.abs(fd.topEigenvalue - exact.topEigenvalue) / exact.topEigenvalue).toBeLessThan(1e-4);
  });

  it('runs on a tiny conv net with every image layer, the same on the wasm backend (composed Conv2DBackpropFilter) as on cpu', async () => {
    const tiny = model('tiny-cnn', [8, 8, 2], [
      { type: 'conv2d', filters: 3, kernel: 3, bias: false },
      { type: 'batchnorm' },
      { type: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'residual', filters: 4, stride: 2 },
      { type: 'avgpool', size: 2, padding: 'same' },
      { type: 'global-avgpool' },
      { type: 'dense', units: 3 },
    ]);
    const layout = parameterLayout(tiny);
    const common = { model: tiny, layout, state: initialState(layout, 5), ...subset(16, 128, 3, 6), batchSize: 8, iterations: 8, seed: 2, log: silentLogger };
    const cpu = await computeSharpness({ ...common, backend: 'cpu' });
    const wasm = await computeSharpness({ ...common, backend: 'wasm' });
    expect([cpu.backend, wasm.backend]).toEqual(['cpu', 'wasm']);
    expect([cpu.method, wasm.method]).toEqual(['finite-difference', 'finite-difference']);
    expect(cpu.iterations).toBe(8);
    expect(cpu.topEigenvalue).toBeGreaterThan(0);
    // The same θ ± εv on both: the backends differ by float32 rounding of the gradients, divided by 2ε.
    expect(Math.abs(wasm.topEigenvalue - cpu.topEigenvalue) / cpu.topEigenvalue).toBeLessThan(1e-4);
  });
});
