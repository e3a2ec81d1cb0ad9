import { beforeAll, describe, expect, it } from 'vitest';
import {
  Rng, flattenLayers, initialState, instantiateLibraryModel, parameterLayout, resolveLayers, silentLogger, slotOf,
  type LayerSpec, type ModelSpec, type ResolvedLayer, type ResolvedLayerOf,
} from '@sgdwalk/core';
import { selectBackend, tf } from './backend.js';
import { forwardLogits, type BatchStats } from './forward.js';
import { DeviceState } from './state.js';

/*
 * Each layer against a hand computation or a plain loop over NHWC arrays, on the CPU backend and on wasm
 * (whose kernels are XNNPACK's, with their own padding code). The loops use the resolved layers' explicit
 * pads, the ones the ONNX lowering uses, so they also check that tfjs's SAME/VALID pad as those say.
 */

type Nhwc = [number, number, number, number];
const at = (s: Nhwc, n: number, h: number, w: number, c: number) => ((n * s[1] + h) * s[2] + w) * s[3] + c;

function convLoop(x: Float32Array, xs: Nhwc, w: Float32Array, layer: ResolvedLayerOf<'conv2d'>, bias?: Float32Array): Float32Array {
  const [oh, ow, co] = layer.outShape;
  const os: Nhwc = [xs[0], oh, ow, co];
  const [kh, kw] = layer.kernel;
  const [top, left] = layer.pads;
  const out = new Float32Array(os.reduce((a, b) => a * b, 1));
  for (let n = 0; n < xs[0]; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < co; o++) {
          let s = bias ? bias[o] : 0;
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++) {
              const r = i * layer.stride[0] - top + a;
              const c = j * layer.stride[1] - left + b;
              if (r < 0 || r >= xs[1] || c < 0 || c >= xs[2]) continue; // zero padding
              for (let ci = 0; ci < xs[3]; ci++) s += x[at(xs, n, r, c, ci)] * w[((a * kw + b) * xs[3] + ci) * co + o];
            }
          out[at(os, n, i, j, o)] = s;
        }
  return out;
}

/** Max or mean over the window's cells inside the image: padding takes no part (TF, and ONNX count_include_pad=0). */
function poolLoop(x: Float32Array, xs: Nhwc, layer: ResolvedLayerOf<'maxpool' | 'avgpool'>): Float32Array {
  const [oh, ow] = layer.outShape;
  const os: Nhwc = [xs[0], oh, ow, xs[3]];
  const out = new Float32Array(os.reduce((a, b) => a * b, 1));
  for (let n = 0; n < xs[0]; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let c = 0; c < xs[3]; c++) {
          const cells: number[] = [];
          for (let a = 0; a < layer.kernel[0]; a++)
            for (let b = 0; b < layer.kernel[1]; b++) {
              const r = i * layer.stride[0] - layer.pads[0] + a;
              const col = j * layer.stride[1] - layer.pads[1] + b;
              if (r >= 0 && r < xs[1] && col >= 0 && col < xs[2]) cells.push(x[at(xs, n, r, col, c)]);
            }
          out[at(os, n, i, j, c)] = layer.type === 'maxpool' ? Math.max(...cells) : cells.reduce((s, v) => s + v, 0) / cells.length;
        }
  return out;
}

/** Per channel (last axis): statistics over every other axis, biased variance. */
function channelStats(x: Float32Array, channels: number): { mean: number[]; variance: number[] } {
  const count = x.length / channels;
  const mean = Array.from({ length: channels }, (_, c) => x.filter((_, i) => i % channels === c).reduce((s, v) => s + v, 0) / count);
  const variance = mean.map((m, c) => x.filter((_, i) => i % channels === c).reduce((s, v) => s + (v - m) ** 2, 0) / count);
  return { mean, variance };
}

function bnLoop(x: Float32Array, channels: number, mean: number[], variance: number[], gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): Float32Array {
  return x.map((v, i) => {
    const c = i % channels;
    return ((v - mean[c]) / Math.sqrt(variance[c] + eps)) * gamma[c] + beta[c];
  });
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst, `worst relative difference ${worst}`).toBeLessThan(tolerance);
}

/** The layers followed by flatten + loss, with classes = the flattened size, so the "logits" are the layers' output. */
function probeSpec(inputShape: number[], layers: LayerSpec[]): ModelSpec {
  const sized = resolveLayers({ name: 'probe', inputShape, classes: 1, layers: [...layers, { type: 'flatten' }, { type: 'dense', units: 1 }, { type: 'softmax-cross-entropy' }] });
  const features = sized.find((l) => l.type === 'flatten')!.outShape[0];
  return { name: 'probe', inputShape, classes: features, layers: [...layers, { type: 'flatten' }, { type: 'softmax-cross-entropy' }] };
}

interface Probe {
  layers: ResolvedLayer[];
  out: Float32Array;
  stats: Map<string, Float32Array[]>;
}

/** Runs the spec's forward pass on a flat input with some state tensors set; returns the flat output and BN statistics. */
function probe(spec: ModelSpec, x: Float32Array, n: number, set: Record<string, ArrayLike<number>> = {}, bnMode: 'batch' | 'running' = 'batch'): Probe {
  const layout = parameterLayout(spec);
  const values = initialState(layout, 5);
  for (const [name, v] of Object.entries(set)) values.set(v, slotOf(layout, name).offset);
  const state = new DeviceState(layout, values);
  const layers = resolveLayers(spec);
  const stats = new Map<string, BatchStats>();
  const out = tf.tidy(() => {
    const logits = forwardLogits(layers, state.lookup(), tf.tensor2d(x, [n, x.length / n]), bnMode, stats);
    for (const s of stats.values()) tf.keep(s.mean), tf.keep(s.variance);
    return logits;
  });
  const result = { layers, out: Float32Array.from(out.dataSync()), stats: new Map([...stats].map(([k, s]) => [k, [Float32Array.from(s.mean.dataSync()), Float32Array.from(s.variance.dataSync())]])) };
  for (const s of stats.values()) tf.dispose([s.mean, s.variance]);
  out.dispose();
  state.dispose();
  return result;
}

const rng = new Rng(29);
const normals = (length: number) => Float32Array.from({ length }, () => rng.normal());
const range = (length: number, from = 1) => Float32Array.from({ length }, (_, i) => from + i);

describe('tfjs pads exactly as the resolved layers say (the pads ONNX gets)', () => {
  it('for every conv and pool of VGG-11, ResNet-20 and odd geometries', () => {
    const specs = [
      instantiateLibraryModel({ library: 'vgg11-bn', width: 0.25 }),
      instantiateLibraryModel({ library: 'resnet-bn', depth: 20 }),
      probeSpec([7, 6, 2], [{ type: 'conv2d', filters: 2, kernel: [3, 2], stride: [2, 3] }, { type: 'maxpool', size: 3, stride: 2, padding: 'same' }]),
      probeSpec([8, 5, 1], [{ type: 'conv2d', filters: 1, kernel: 4, stride: 1 }, { type: 'avgpool', size: [2, 3], stride: 1, padding: 'same' }, { type: 'conv2d', filters: 1, kernel: 3, padding: 'valid', stride: 2 }]),
    ];
    let checked = 0;
    for (const spec of specs) {
      for (const layer of flattenLayers(resolveLayers(spec))) {
        if (layer.type !== 'conv2d' && layer.type !== 'maxpool' && layer.type !== 'avgpool') continue;
        const [h, w, c] = layer.inShape;
        const info = layer.type === 'conv2d'
          ? tf.backend_util.computeConv2DInfo([1, h, w, c], [layer.kernel[0], layer.kernel[1], c, layer.filters], layer.stride, 1, layer.padding)
          : tf.backend_util.computePool2DInfo([1, h, w, c], layer.kernel, layer.stride, 1, layer.padding);
        const { top, left, bottom, right } = info.padInfo;
        expect([top, left, bottom, right], `${spec.name} ${layer.name}`).toEqual(layer.pads);
        expect(info.outShape.slice(1), `${spec.name} ${layer.name}`).toEqual(layer.outShape);
        checked++;
      }
    }
    expect(checked).toBe((8 + 5) + (1 + 18 + 2) + 2 + 3); // VGG: convs + pools; ResNet-20: stem, blocks, projections
  });
});

describe.each(['cpu', 'wasm'] as const)('layers on the %s backend', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend, silentLogger);
    expect(tf.getBackend()).toBe(backend);
  });

  describe('conv2d', () => {
    it('3×3, stride 2, SAME on a 5×5 image by hand: pads 1 all round', () => {
      const spec = probeSpec([5, 5, 1], [{ type: 'conv2d', filters: 1, kernel: 3, stride: 2, bias: false }]);
      const { out, layers } = probe(spec, range(25), 1, { 'conv0.weight': new Float32Array(9).fill(1) });
      expect(layers[0].outShape).toEqual([3, 3, 1]);
      // Window sums of the image 1..25 (row-major); the corner windows see 2×2 pixels, the edges 2×3.
      expect(Array.from(out)).toEqual([16, 33, 28, 69, 117, 87, 76, 123, 88]);
    });

    it.each<[string, number[], Extract<LayerSpec, { type: 'conv2d' }>]>([
      ['3×3 stride 2 SAME on 6×6 (pads 0 before, 1 after)', [6, 6, 3], { type: 'conv2d', filters: 4, kernel: 3, stride: 2 }],
      ['3×3 stride 2 SAME on 5×5 with bias', [5, 5, 2], { type: 'conv2d', filters: 3, kernel: 3, stride: 2 }],
      ['3×2 stride [1, 2] VALID', [5, 6, 2], { type: 'conv2d', filters: 3, kernel: [3, 2], stride: [1, 2], padding: 'valid' }],
      ['1×1 stride 2 VALID (a projection shortcut)', [5, 5, 3], { type: 'conv2d', filters: 2, kernel: 1, stride: 2, padding: 'valid', bias: false }],
    ])('%s equals the loop', (_, inputShape, conv) => {
      const spec = probeSpec(inputShape, [conv]);
      const layer = resolveLayers(spec)[0] as ResolvedLayerOf<'conv2d'>;
      const n = 2;
      const x = normals(n * inputShape.reduce((a, b) => a * b, 1));
      const w = normals(slotOf(parameterLayout(spec), 'conv0.weight').size);
      const bias = layer.bias ? normals(layer.filters) : undefined;
      const { out } = probe(spec, x, n, { 'conv0.weight': w, ...(bias ? { 'conv0.bias': bias } : {}) });
      expectClose(out, convLoop(x, [n, ...inputShape] as Nhwc, w, layer, bias));
    });
  });

  describe('pooling', () => {
    it('avgpool SAME leaves padded cells out of the average (by hand)', () => {
      // 2×2 image, 3×3 window, stride 1: every window holds all four pixels (and five padded cells).
      const all = probe(probeSpec([2, 2, 1], [{ type: 'avgpool', size: 3, stride: 1, padding: 'same' }]), Float32Array.from([1, 2, 3, 4]), 1);
      expect(Array.from(all.out)).toEqual([2.5, 2.5, 2.5, 2.5]); // not 10/9 as a zero-padded average would give
      // 3×3 image 1..9, 2×2 window, stride 1: the padding row/column is after, so the last row/column average fewer cells.
      const edge = probe(probeSpec([3, 3, 1], [{ type: 'avgpool', size: 2, stride: 1, padding: 'same' }]), range(9), 1);
      expect(Array.from(edge.out)).toEqual([3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9]);
    });

    it('maxpool SAME never picks a padded cell, even when every pixel is negative (by hand)', () => {
      const spec = probeSpec([3, 3, 1], [{ type: 'maxpool', size: 2, stride: 2, padding: 'same' }]);
      expect(Array.from(probe(spec, range(9), 1).out)).toEqual([5, 6, 8, 9]);
      expect(Array.from(probe(spec, range(9).map((v) => -v), 1).out)).toEqual([-1, -3, -7, -9]);
    });

    it.each<[string, number[], LayerSpec]>([
      ['maxpool 2×2 VALID (VGG)', [6, 6, 3], { type: 'maxpool', size: 2 }],
      ['maxpool 3×3 stride 2 SAME', [7, 6, 2], { type: 'maxpool', size: 3, stride: 2, padding: 'same' }],
      ['avgpool 3×3 stride 2 SAME', [7, 6, 2], { type: 'avgpool', size: 3, stride: 2, padding: 'same' }],
      ['avgpool [2, 3] stride 1 SAME', [4, 5, 2], { type: 'avgpool', size: [2, 3], stride: 1, padding: 'same' }],
      ['avgpool 2×2 VALID on an odd size (last row unused)', [5, 5, 2], { type: 'avgpool', size: 2 }],
    ])('%s equals the loop', (_, inputShape, pool) => {
      const spec = probeSpec(inputShape, [pool]);
      const layer = resolveLayers(spec)[0] as ResolvedLayerOf<'maxpool' | 'avgpool'>;
      const x = normals(3 * inputShape.reduce((a, b) => a * b, 1));
      expectClose(probe(spec, x, 3).out, poolLoop(x, [3, ...inputShape] as Nhwc, layer));
    });
  });

  it('global-avgpool is the mean over H and W per channel (by hand)', () => {
    // Two 2×2×2 images, channel last: channel 0 holds 1, 2, 3, 4 and channel 1 holds 10, 20, 30, 40 (image 2: negated).
    const image = [1, 10, 2, 20, 3, 30, 4, 40];
    const { out } = probe(probeSpec([2, 2, 2], [{ type: 'global-avgpool' }]), Float32Array.from([...image, ...image.map((v) => -v)]), 2);
    expect(Array.from(out)).toEqual([2.5, 25, -2.5, -25]);
  });

  it('flatten and a dense layer after an image read pixels in H, W, C order (by hand)', () => {
    // A 1×1 conv that swaps the two channels, then the weight row (h·W + w)·C + c = (1·2 + 0)·2 + 1 = 5 picks
    // (h 1, w 0, c 1) of the swapped image, which is channel 0 of pixel (1, 0) of the input: value 4.
    const swap = { 'conv0.weight': [0, 1, 1, 0] };
    const pick = Float32Array.from({ length: 8 }, (_, i) => (i === 5 ? 1 : 0));
    const x = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const conv: LayerSpec = { type: 'conv2d', filters: 2, kernel: 1, bias: false };
    const implicit: ModelSpec = { name: 'd', inputShape: [2, 2, 2], classes: 1, layers: [conv, { type: 'dense', units: 1, bias: false }, { type: 'softmax-cross-entropy' }] };
    const explicit: ModelSpec = { ...implicit, layers: [conv, { type: 'flatten' }, ...implicit.layers.slice(1)] };
    for (const spec of [implicit, explicit]) expect(Array.from(probe(spec, x, 1, { ...swap, 'dense0.weight': pick }).out)).toEqual([4]);
    expect(Array.from(probe(probeSpec([2, 2, 2], [conv]), x, 1, swap).out)).toEqual([1, 0, 3, 2, 5, 4, 7, 6]);
  });

  describe('batchnorm over the channels of an image', () => {
    const spec = probeSpec([3, 2, 2], [{ type: 'batchnorm', epsilon: 0.5 }]);
    const n = 2;
    const x = normals(n * 12).map((v, i) => v + (i % 2 === 0 ? 3 : -1)); // channels with different means
    const gamma = [1.5, -0.5];
    const beta = [0.25, 2];

    it('batch mode: statistics over N, H and W, biased variance; recorded as [C]', () => {
      const { mean, variance } = channelStats(x, 2);
      const { out, stats } = probe(spec, x, n, { 'bn0.gamma': gamma, 'bn0.beta': beta });
      expectClose(out, bnLoop(x, 2, mean, variance, gamma, beta, 0.5));
      expect([...stats.keys()]).toEqual(['bn0']);
      expectClose(stats.get('bn0')![0], mean);
      expectClose(stats.get('bn0')![1], variance);
    });

    it('running mode: the stored statistics per channel, none recorded', () => {
      const runningMean = [0.5, -2];
      const runningVar = [4, 0.25];
      const { out, stats } = probe(spec, x, n, { 'bn0.gamma': gamma, 'bn0.beta': beta, 'bn0.running_mean': runningMean, 'bn0.running_var': runningVar }, 'running');
      expectClose(out, bnLoop(x, 2, runningMean, runningVar, gamma, beta, 0.5));
      expect(stats.size).toBe(0);
    });
  });

  describe('residual blocks', () => {
    it('identity shortcut: with the last BN of the body at γ = 0, the block is relu(x + β) (by hand)', () => {
      const spec = probeSpec([4, 4, 2], [{ type: 'residual', filters: 2 }]);
      const block = resolveLayers(spec)[0] as ResolvedLayerOf<'residual'>;
      expect(block.shortcut).toEqual([]);
      const x = normals(2 * 32);
      const { out, stats } = probe(spec, x, 2, { 'res0.bn1.gamma': [0, 0], 'res0.bn1.beta': [0.5, -0.25] });
      expectClose(out, x.map((v, i) => Math.max(0, v + (i % 2 === 0 ? 0.5 : -0.25))));
      expect([...stats.keys()]).toEqual(['res0.bn0', 'res0.bn1']);
    });

    it('projection shortcut: 1×1 conv, stride 2, then its own BN, recorded under its own name', () => {
      const spec = probeSpec([4, 4, 2], [{ type: 'residual', filters: 3, stride: 2 }]);
      const block = resolveLayers(spec)[0] as ResolvedLayerOf<'residual'>;
      const projection = block.shortcut[0] as ResolvedLayerOf<'conv2d'>;
      const x = normals(2 * 32);
      const w = normals(6);
      const { out, stats } = probe(spec, x, 2, { 'res0.bn1.gamma': [0, 0, 0], 'res0.bn1.beta': [0, 0, 0], 'res0.shortcut.conv0.weight': w });
      const projected = convLoop(x, [2, 4, 4, 2], w, projection);
      const { mean, variance } = channelStats(projected, 3);
      expectClose(out, bnLoop(projected, 3, mean, variance, [1, 1, 1], [0, 0, 0], 1e-5).map((v) => Math.max(0, v)), 1e-4);
      expect([...stats.keys()]).toEqual(['res0.bn0', 'res0.bn1', 'res0.shortcut.bn0']);
      expectClose(stats.get('res0.shortcut.bn0')![0], mean);
    });

    it('relu(body(x) + shortcut(x)) with every part live', () => {
      const spec = probeSpec([4, 4, 2], [{ type: 'residual', filters: 3, stride: 2 }]);
      const block = resolveLayers(spec)[0] as ResolvedLayerOf<'residual'>;
      const x = normals(2 * 32);
      const { out } = probe(spec, x, 2);
      // The same state (same seed) through the body and the shortcut layers alone.
      const layout = parameterLayout(spec);
      const state = new DeviceState(layout, initialState(layout, 5));
      const expected = tf.tidy(() => {
        const input = tf.tensor2d(x, [2, 32]);
        const body = forwardLogits(block.body, state.lookup(), input, 'batch');
        const shortcut = forwardLogits(block.shortcut, state.lookup(), input, 'batch');
        return Float32Array.from(tf.relu(tf.add(body, shortcut)).dataSync());
      });
      state.dispose();
      expectClose(out, expected);
      expect(out.some((v) => v === 0) && out.some((v) => v > 0)).toBe(true);
    });
  });
});
