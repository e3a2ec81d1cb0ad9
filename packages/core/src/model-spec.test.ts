import { describe, expect, it } from 'vitest';
import { parameterLayout } from './layout.js';
import { instantiateLibraryModel, libraryBaseSpec } from './model-library.js';
import { flattenLayers, resolveLayers, type ModelSpec } from './model-spec.js';
import { windowAlongAxis } from './spatial.js';

const trainable = (spec: ModelSpec) => parameterLayout(spec).trainableSize;

describe('convolution geometry (TensorFlow padding)', () => {
  it('SAME gives ⌈in/stride⌉ and puts the odd pixel of padding after', () => {
    expect(windowAlongAxis(7, 3, 2, 'same')).toEqual({ out: 4, before: 1, after: 1 });
    expect(windowAlongAxis(8, 3, 2, 'same')).toEqual({ out: 4, before: 0, after: 1 });
    expect(windowAlongAxis(5, 1, 2, 'same')).toEqual({ out: 3, before: 0, after: 0 });
    expect(windowAlongAxis(4, 4, 1, 'same')).toEqual({ out: 4, before: 1, after: 2 });
  });
  it('VALID pads nothing and refuses a window larger than the input', () => {
    expect(windowAlongAxis(7, 3, 2, 'valid')).toEqual({ out: 3, before: 0, after: 0 });
    expect(windowAlongAxis(2, 3, 1, 'valid')).toBeUndefined();
  });
});

describe('resolveLayers: shapes inferred layer by layer', () => {
  const small: ModelSpec = {
    name: 'small-cnn',
    inputShape: [9, 9, 2],
    classes: 3,
    layers: [
      { type: 'conv2d', filters: 4, kernel: 3, stride: 2 },
      { type: 'batchnorm' },
      { type: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'avgpool', size: [2, 1], stride: 1, padding: 'same' },
      { type: 'flatten' },
      { type: 'dense', units: 'classes' },
      { type: 'softmax-cross-entropy' },
    ],
  };

  it('infers every output shape and the explicit pads', () => {
    const layers = resolveLayers(small);
    expect(layers.map((l) => [l.name, l.outShape])).toEqual([
      ['conv0', [5, 5, 4]],
      ['bn0', [5, 5, 4]],
      ['relu0', [5, 5, 4]],
      ['maxpool0', [2, 2, 4]],
      ['avgpool0', [2, 2, 4]],
      ['flatten0', [16]],
      ['dense0', [3]],
      ['loss', [3]],
    ]);
    const conv = layers[0];
    expect(conv.type === 'conv2d' && conv.pads).toEqual([1, 1, 1, 1]);
    const avg = layers[4];
    expect(avg.type === 'avgpool' && avg.pads).toEqual([0, 0, 1, 0]);
    const bn = layers[1];
    expect(bn.type === 'batchnorm' && bn.features).toBe(4); // over channels
  });

  it('lays conv weights out as [kh, kw, in, out] with He fan-in kh·kw·in', () => {
    const slot = parameterLayout(small).tensors.find((t) => t.name === 'conv0.weight')!;
    expect(slot.shape).toEqual([3, 3, 2, 4]);
    expect(slot.init).toEqual({ kind: 'he-normal', fanIn: 18 });
    expect(trainable(small)).toBe(3 * 3 * 2 * 4 + 4 + 8 + 16 * 3 + 3);
  });

  it('names the layer whose shapes do not fit', () => {
    const bad = (layers: ModelSpec['layers'], inputShape = [4, 4, 1]) => () => resolveLayers({ name: 'x', inputShape, classes: 2, layers });
    expect(bad([{ type: 'maxpool', size: 5 }, { type: 'dense', units: 2 }, { type: 'softmax-cross-entropy' }])).toThrow(/layer maxpool0: window 5×5 is larger/);
    expect(bad([{ type: 'dense', units: 3 }, { type: 'conv2d', filters: 2, kernel: 1 }, { type: 'dense', units: 2 }, { type: 'softmax-cross-entropy' }])).toThrow(
      /layer conv0: conv2d needs an \[H, W, C\] input, got \[3\]/,
    );
    expect(bad([{ type: 'global-avgpool' }, { type: 'softmax-cross-entropy' }])).toThrow(/logits have shape \[1\] but the model has 2 classes/);
    expect(bad([{ type: 'global-avgpool' }, { type: 'dense', units: 2 }], [4, 4, 1])).toThrow(/last layer must be softmax-cross-entropy/);
  });
});

describe('residual blocks', () => {
  const spec: ModelSpec = {
    name: 'tiny-resnet',
    inputShape: [8, 8, 3],
    classes: 2,
    layers: [
      { type: 'conv2d', filters: 4, kernel: 3, bias: false },
      { type: 'residual', filters: 4, blocks: 2 },
      { type: 'residual', filters: 8, stride: 2 },
      { type: 'global-avgpool' },
      { type: 'dense', units: 'classes' },
      { type: 'softmax-cross-entropy' },
    ],
  };

  it('expands a stage into blocks, identity shortcut where shapes allow, else a 1×1 projection', () => {
    const layers = resolveLayers(spec);
    const blocks = layers.filter((l) => l.type === 'residual');
    expect(blocks.map((b) => [b.name, b.outShape, b.type === 'residual' && b.shortcut.map((s) => s.name)])).toEqual([
      ['res0', [8, 8, 4], []],
      ['res1', [8, 8, 4], []],
      ['res2', [4, 4, 8], ['res2.shortcut.conv0', 'res2.shortcut.bn0']],
    ]);
    expect(flattenLayers(layers).filter((l) => l.type === 'conv2d').map((l) => l.name)).toEqual([
      'conv0', 'res0.conv0', 'res0.conv1', 'res1.conv0', 'res1.conv1', 'res2.conv0', 'res2.conv1', 'res2.shortcut.conv0',
    ]);
  });

  it('puts every block tensor in the layout, trainables first', () => {
    const layout = parameterLayout(spec);
    const names = layout.tensors.map((t) => t.name);
    expect(names).toContain('res2.shortcut.conv0.weight');
    expect(names).toContain('res1.bn1.running_var');
    expect(layout.tensors.findIndex((t) => t.role === 'buffer')).toBe(layout.tensors.filter((t) => t.role === 'trainable').length);
  });
});

describe('model library', () => {
  it('keeps the study MLP, 784-500-350-10, layout unchanged', () => {
    expect(trainable(instantiateLibraryModel({ library: 'mlp-bn' }))).toBe(784 * 500 + 500 + 1000 + 500 * 350 + 350 + 700 + 350 * 10 + 10);
  });

  it('builds ResNet-20 and ResNet-56 from depth 6n + 2 (projection shortcuts)', () => {
    const resnet20 = instantiateLibraryModel({ library: 'resnet-bn', depth: 20 });
    expect(resnet20.name).toBe('resnet20-bn');
    expect(resolveLayers(resnet20).filter((l) => l.type === 'residual')).toHaveLength(9);
    // Hand count: stem 432 + 32; stage 1: 3·(2·2304 + 64); stage 2: 14,528 + 2·18,560; stage 3: 57,728 + 2·73,984;
    // logits 650. (269,722 + the two projections' 2,752 = the option-A ResNet-20's well-known count.)
    expect(trainable(resnet20)).toBe(272_474);
    expect(instantiateLibraryModel({ library: 'resnet-bn' }).name).toBe('resnet56-bn');
    expect(resolveLayers(instantiateLibraryModel({ library: 'resnet-bn' })).filter((l) => l.type === 'residual')).toHaveLength(27);
    expect(() => instantiateLibraryModel({ library: 'resnet-bn', depth: 21 })).toThrow(/depth 21 is not 2 \+ 6·n/);
    expect(() => instantiateLibraryModel({ library: 'vgg11-bn', depth: 20 })).toThrow(/no residual stages/);
  });

  it('builds VGG-11 (config A, 512-512-10 classifier) and scales widths, not the logits', () => {
    const vgg = instantiateLibraryModel({ library: 'vgg11-bn' });
    const layers = resolveLayers(vgg);
    expect(layers.filter((l) => l.type === 'conv2d').map((l) => l.outShape[2])).toEqual([64, 128, 256, 256, 512, 512, 512, 512]);
    expect(layers.find((l) => l.type === 'flatten')!.outShape).toEqual([512]);
    const quarter = instantiateLibraryModel({ library: 'vgg11-bn', width: 0.25 });
    expect(quarter.name).toBe('vgg11-bn-w0.25');
    const q = resolveLayers(quarter);
    expect(q.filter((l) => l.type === 'conv2d').map((l) => l.outShape[2])).toEqual([16, 32, 64, 64, 128, 128, 128, 128]);
    expect(q.filter((l) => l.type === 'dense').map((l) => l.outShape[0])).toEqual([128, 10]);
    expect(resolveLayers(instantiateLibraryModel({ library: 'vgg11-bn', classes: 100 })).at(-1)!.outShape).toEqual([100]);
  });

  it('refuses an unknown library model', () => {
    expect(() => instantiateLibraryModel({ library: 'alexnet' })).toThrow(/unknown library model "alexnet"; known: mlp-bn, vgg11-bn, resnet-bn/);
    expect(libraryBaseSpec('mlp-bn').layers).toHaveLength(8);
  });
});
