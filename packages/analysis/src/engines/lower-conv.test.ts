import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { instantiateLibraryModel, parameterLayout, resolveLayers, type LayerSpec, type ResolvedLayer, type ResolvedLayerOf } from '@sgdwalk/core';
import { openModelSession } from './evaluator.js';
import { DataType, GraphBuilder, batchNormImage, conv2d, featuresFromImage, globalAvgPool, hasImageLayers, imageFromFeatures, lowerInterpolationModel, pool2d, residualJoin, withGroups, type ImageActivation, type ImageParameters } from '@sgdwalk/onnx';

/**
 * Each image layer through ONNX Runtime on a case small enough to work out by hand. Inputs and outputs are
 * flat, channel last (H, W, C) as the data and the dense layers see them, so every case also checks the
 * NHWC ↔ NCHW transposes on the way in and out.
 */

/** The resolved layer of a one-layer spec on [H, W, C] inputs. */
function resolved<T extends ResolvedLayer['type']>(inputShape: number[], layer: LayerSpec, type: T): ResolvedLayerOf<T> {
  const layers = resolveLayers({ name: 'case', inputShape, classes: 1, layers: [layer, { type: 'flatten' }, { type: 'dense', units: 1 }, { type: 'softmax-cross-entropy' }] });
  return layers[0] as ResolvedLayerOf<T>;
}

/** Builds x [N, H·W·C] → (layers) → flat output, feeds the named state tensors as graph inputs, runs it. */
async function run(
  inputShape: number[],
  x: number[],
  build: (g: GraphBuilder, image: ImageActivation, params: ImageParameters) => ImageActivation,
  state: Record<string, { shape: number[]; values: number[] }> = {},
): Promise<number[]> {
  const features = inputShape.reduce((a, b) => a * b, 1);
  const g = new GraphBuilder();
  const input = g.input('x', DataType.FLOAT, ['N', features]);
  const feed = (tensor: string) => g.input(tensor, DataType.FLOAT, state[tensor].shape);
  const params: ImageParameters = {
    alphas: 1,
    convWeight: (layer) => g.transpose(feed(`${layer.name}.weight`), [3, 2, 0, 1]),
    channelVector: feed,
  };
  const out = build(g, imageFromFeatures(g, input, inputShape), params);
  g.output('y', featuresFromImage(g, out), DataType.FLOAT, out.groups > 1 ? [out.groups, 'N', 'F'] : ['N', 'F']);
  const session = await ort.InferenceSession.create(g.encode('case'));
  try {
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', Float32Array.from(x), [x.length / features, features]) };
    for (const [name, t] of Object.entries(state)) feeds[name] = new ort.Tensor('float32', Float32Array.from(t.values), t.shape);
    return Array.from((await session.run(feeds)).y.data as Float32Array);
  } finally {
    await session.release();
  }
}

// A 3×3 one-channel image, rows [1 2 3], [4 5 6], [7 8 9].
const nine = [1, 2, 3, 4, 5, 6, 7, 8, 9];

describe('image layers in ONNX, by hand', () => {
  it('conv2d valid: each output is the window weighted by [kh, kw] filters, plus the bias', async () => {
    const layer = resolved([3, 3, 1], { type: 'conv2d', filters: 1, kernel: 2, padding: 'valid' }, 'conv2d');
    // filters w[0,0] = 1, w[0,1] = 2, w[1,0] = 3, w[1,1] = 4: out[i, j] = x[i,j] + 2x[i,j+1] + 3x[i+1,j] + 4x[i+1,j+1]
    const y = await run([3, 3, 1], nine, (g, h, p) => conv2d(g, h, layer, p), {
      'conv0.weight': { shape: [2, 2, 1, 1], values: [1, 2, 3, 4] },
      'conv0.bias': { shape: [1], values: [0.5] },
    });
    expect(y).toEqual([37.5, 47.5, 67.5, 77.5]);
  });

  it('conv2d same with stride 2: TensorFlow puts the odd padding row and column at the end', async () => {
    const layer = resolved([3, 3, 1], { type: 'conv2d', filters: 1, kernel: 2, stride: 2, padding: 'same', bias: false }, 'conv2d');
    expect(layer.pads).toEqual([0, 0, 1, 1]);
    const y = await run([3, 3, 1], nine, (g, h, p) => conv2d(g, h, layer, p), { 'conv0.weight': { shape: [2, 2, 1, 1], values: [1, 2, 3, 4] } });
    // [1 + 4 + 12 + 20, 3 + 3·6, 7 + 2·8, 9]: the windows at the right and bottom overhang into zeros
    expect(y).toEqual([37, 21, 23, 9]);
  });

  it('conv2d reads filters as [kh, kw, in, out] and writes channels last', async () => {
    const layer = resolved([1, 2, 2], { type: 'conv2d', filters: 2, kernel: 1, bias: false }, 'conv2d');
    // pixels (1, 2) and (3, 4); w[in][out] = [[1, 10], [100, 1000]]: out_o = Σ_i x_i·w[i][o]
    const y = await run([1, 2, 2], [1, 2, 3, 4], (g, h, p) => conv2d(g, h, layer, p), { 'conv0.weight': { shape: [1, 1, 2, 2], values: [1, 10, 100, 1000] } });
    expect(y).toEqual([201, 2010, 403, 4030]);
  });

  it('maxpool same ignores the padding (a window over negatives and padding is not 0)', async () => {
    const layer = resolved([3, 3, 1], { type: 'maxpool', size: 2, padding: 'same' }, 'maxpool');
    const y = await run([3, 3, 1], nine.map((v) => -v), (g, h) => pool2d(g, h, layer));
    expect(y).toEqual([-1, -3, -7, -9]);
  });

  it('avgpool same averages only the cells inside the image, as TensorFlow does', async () => {
    const layer = resolved([3, 3, 1], { type: 'avgpool', size: 2, padding: 'same' }, 'avgpool');
    const y = await run([3, 3, 1], nine, (g, h) => pool2d(g, h, layer));
    expect(y).toEqual([(1 + 2 + 4 + 5) / 4, (3 + 6) / 2, (7 + 8) / 2, 9]);
  });

  it('avgpool valid with stride 1 (overlapping windows)', async () => {
    const layer = resolved([3, 3, 1], { type: 'avgpool', size: 2, stride: 1 }, 'avgpool');
    const y = await run([3, 3, 1], nine, (g, h) => pool2d(g, h, layer));
    expect(y).toEqual([3, 4, 6, 7]);
  });

  it('global average pooling: one mean per channel', async () => {
    const layer = resolved([2, 2, 2], { type: 'global-avgpool' }, 'global-avgpool');
    // channel 0: 1, 3, 5, 7; channel 1: 2, 4, 6, 12
    const y = await run([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 12], (g, h) => globalAvgPool(g, h, layer));
    expect(y).toEqual([4, 6]);
  });

  it('batch norm over channels, batch statistics over N, H and W with the biased variance', async () => {
    const layer = resolved([1, 2, 2], { type: 'batchnorm', epsilon: 1 }, 'batchnorm');
    // two examples of 1×2 pixels, 2 channels. channel 0: 1, 3, 5, 7 (mean 4, variance 5); channel 1: 0, 0, 0, 4 (mean 1, variance 3)
    const x = [1, 0, 3, 0, 5, 0, 7, 4];
    const state = {
      'bn0.gamma': { shape: [2], values: [2, 1] },
      'bn0.beta': { shape: [2], values: [0, 10] },
      'bn0.running_mean': { shape: [2], values: [1, -1] },
      'bn0.running_var': { shape: [2], values: [3, 0] },
    };
    const batch = await run([1, 2, 2], x, (g, h, p) => batchNormImage(g, h, layer, 'batch', p), state);
    // (x − mean)/√(var + ε)·γ + β with ε = 1: channel 0 → (x − 4)/√6·2, channel 1 → (x − 1)/2 + 10
    const expected = [(1 - 4) / Math.sqrt(6) * 2, 9.5, (3 - 4) / Math.sqrt(6) * 2, 9.5, (5 - 4) / Math.sqrt(6) * 2, 9.5, (7 - 4) / Math.sqrt(6) * 2, 11.5];
    batch.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    const running = await run([1, 2, 2], x, (g, h, p) => batchNormImage(g, h, layer, 'running', p), state);
    // running statistics: channel 0 → (x − 1)/2·2, channel 1 → (x + 1)/1 + 10
    expect(running).toEqual([0, 11, 2, 11, 4, 11, 6, 15]);
  });

  it('a residual join is relu(body + shortcut), a one-network branch repeated to match A networks', async () => {
    // the input as the shortcut; the body is the input repeated for 2 networks, minus 2 in the second
    const y = await run([1, 2, 1], [1, -3], (g, h) => {
      const tiled = withGroups(g, h, 2);
      const body: ImageActivation = { ...tiled, value: g.op('Sub', [tiled.value, g.constant('shift', DataType.FLOAT, [1, 2, 1, 1], [0, 2])]) };
      return residualJoin(g, body, h, 'res0');
    });
    // [A, N, H·W·C] with A = 2: network 0 relu(2x) = [2, 0]; network 1 relu(2x − 2) = [0, 0]
    expect(y).toEqual([2, 0, 0, 0]);
  });
});

describe('conv net graphs', () => {
  const spec = instantiateLibraryModel({ library: 'resnet-bn', depth: 8, width: 0.25, inputShape: [8, 8, 3] });
  const layout = parameterLayout(spec);

  it('take the state under the layout names, filters as stored [kh, kw, in, out] (running statistics only in running mode)', async () => {
    const batch = await openModelSession({ model: spec, layout, bnMode: 'batch', provider: 'cpu' });
    const running = await openModelSession({ model: spec, layout, bnMode: 'running', provider: 'cpu' });
    try {
      const trainables = layout.tensors.filter((t) => t.role === 'trainable').map((t) => t.name);
      expect(trainables).toContain('res1.shortcut.conv0.weight');
      expect([...batch.inputNames].sort()).toEqual(['labels', 'x', ...trainables].sort());
      expect([...running.inputNames].sort()).toEqual(['labels', 'x', ...layout.tensors.map((t) => t.name)].sort());
    } finally {
      await batch.release();
      await running.release();
    }
  });

  it('the interpolation graph of a conv net is built for a fixed α count; a dense-only one for any', async () => {
    expect(hasImageLayers(spec)).toBe(true);
    expect(() => lowerInterpolationModel(spec, layout, 'batch')).toThrow(/fixed α count/);
    const session = await ort.InferenceSession.create(lowerInterpolationModel(spec, layout, 'batch', 3));
    try {
      expect(session.inputNames).toContain('a/conv0.weight');
      expect(session.inputNames).toContain('b/res2.bn1.gamma');
    } finally {
      await session.release();
    }
    const mlp = instantiateLibraryModel({ library: 'mlp-bn', inputShape: [8, 8, 3] });
    expect(hasImageLayers(mlp)).toBe(false);
    expect(() => lowerInterpolationModel(mlp, parameterLayout(mlp), 'batch')).not.toThrow();
  });
});
