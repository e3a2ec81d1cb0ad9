import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { alphaGridValues, parsePipeline } from './config.js';

describe('parsePipeline', () => {
  it('fills the study defaults from an empty file', () => {
    const c = parsePipeline({}, 'pipelines/study/pipeline.json');
    expect(c.name).toBe('study');
    expect(c.outDir).toBe('out/study');
    expect(parsePipeline({}, 'elsewhere/sweep-3.json').outDir).toBe('out/sweep-3');
    expect(parsePipeline({ name: 'renamed' }, 'pipelines/study/pipeline.json').outDir).toBe('out/renamed');
    expect(c.train).toMatchObject({ lr: 0.1, batchSize: 100, weightDecay: 1e-4, momentum: 0, epochs: 2, seed: 0 });
    expect(c.train.model.name).toBe('mlp-bn');
    expect(c.train.checkpoints.windows).toEqual([{ steps: [1, 100] }]);
    expect(c.analyze.alphas).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(c.analyze.evalSet).toEqual({ split: 'train', size: 10000, seed: 0 });
    expect(c.analyze.evalBatchSize).toBe(500);
  });

  it('names the file and the field of an unknown field', () => {
    expect(() => parsePipeline({ train: { lr: 0.1, learningRate: 3 } }, 'p.json')).toThrow(ConfigError);
    expect(() => parsePipeline({ train: { lr: 0.1, learningRate: 3 } }, 'p.json')).toThrow(/^p\.json: field "train\.learningRate": unknown field/);
  });

  it('names the file and the field of an ill-typed field', () => {
    expect(() => parsePipeline({ train: { batchSize: 'big' } }, 'p.json')).toThrow(/p\.json: field "train\.batchSize"/);
    expect(() => parsePipeline({ analyze: { evalSet: { size: -3 } } }, 'p.json')).toThrow(/field "analyze\.evalSet\.size"/);
    expect(() => parsePipeline({ train: { lr: -0.1 } }, 'p.json')).toThrow(/field "train\.lr"/);
  });

  it('rejects an empty or non-increasing α grid and a bad model', () => {
    expect(() => parsePipeline({ analyze: { alphas: [] } }, 'p.json')).toThrow(/field "analyze\.alphas".*empty/);
    expect(() => parsePipeline({ analyze: { alphas: [0, 0.5, 0.5, 1] } }, 'p.json')).toThrow(/analyze\.alphas\[2\]/);
    expect(() => parsePipeline({ train: { model: 'resnet-9000' } }, 'p.json')).toThrow(/field "train\.model"/);
    const badSpec = { name: 'x', inputShape: [4], classes: 3, layers: [{ type: 'dense', units: 2 }, { type: 'softmax-cross-entropy' }] };
    expect(() => parsePipeline({ train: { model: badSpec } }, 'p.json')).toThrow(/train\.model.*logits have shape \[2\] but the model has 3 classes/);
    expect(() => parsePipeline({ train: { model: { library: 'resnet-bn', depth: 21 } } }, 'p.json')).toThrow(/p\.json: field "train\.model": depth 21/);
    expect(() => parsePipeline({ train: { model: { library: 'vgg11-bn', width: -1 } } }, 'p.json')).toThrow(/train\.model/);
    expect(parsePipeline({ train: { model: { library: 'resnet-bn', depth: 20, width: 0.5 } } }, 'p.json').train.model.name).toBe('resnet20-bn-w0.5');
  });
});

describe('checkpoint windows', () => {
  it('are given in steps or in epochs, and name a reversed range', () => {
    const c = parsePipeline({ train: { checkpoints: { windows: [{ steps: [0, 10] }, { epochs: [3, 4] }] } } }, 'p.json');
    expect(c.train.checkpoints.windows).toEqual([{ steps: [0, 10] }, { epochs: [3, 4] }]);
    expect(() => parsePipeline({ train: { checkpoints: { windows: [{ epochs: [4, 3] }] } } }, 'p.json')).toThrow(/field "train\.checkpoints\.windows\[0\]/);
    expect(() => parsePipeline({ train: { maxSteps: 5, checkpoints: { windows: [{ steps: [9, 12] }] } } }, 'p.json')).toThrow(/windows\[0\]".*after the run's last step 5/);
  });
});

describe('alphaGridValues', () => {
  it('expands a range without float drift and allows extrapolation', () => {
    expect(alphaGridValues({ from: -0.5, to: 1.5, step: 0.5 })).toEqual([-0.5, 0, 0.5, 1, 1.5]);
    expect(alphaGridValues({ from: 0, to: 1, step: 0.1 })[3]).toBe(0.3);
  });
});

describe('the data section', () => {
  it('accepts the four datasets; mnist by default', () => {
    expect(parsePipeline({}, 'p.json').data).toEqual({ dataset: 'mnist' });
    for (const dataset of ['mnist', 'fashion-mnist', 'cifar10']) {
      expect(parsePipeline({ data: { dataset, dir: '/data', limit: { train: 10 } } }, 'p.json').data).toEqual({ dataset, dir: '/data', limit: { train: 10 } });
    }
    expect(() => parsePipeline({ data: { dataset: 'imagenet' } }, 'p.json')).toThrow(/^p\.json: field "data\.dataset"/);
  });

  it('synthetic: the generator settings default when left out, and fill in around those given', () => {
    expect(parsePipeline({ data: { dataset: 'synthetic' } }, 'p.json').data.synthetic).toEqual({
      imageShape: [8, 8, 3],
      classes: 4,
      counts: { train: 1000, validation: 200, test: 200 },
      seed: 0,
      noise: 0.2,
    });
    const given = parsePipeline({ data: { dataset: 'synthetic', synthetic: { imageShape: [4, 4, 1], classes: 10, counts: { train: 64 }, seed: 3 } } }, 'p.json');
    expect(given.data.synthetic).toEqual({ imageShape: [4, 4, 1], classes: 10, counts: { train: 64, validation: 200, test: 200 }, seed: 3, noise: 0.2 });
  });

  it('synthetic: ill-typed settings and a section beside another dataset are refused, naming the field', () => {
    expect(() => parsePipeline({ data: { dataset: 'synthetic', synthetic: { imageShape: [8, 8] } } }, 'p.json')).toThrow(/field "data\.synthetic\.imageShape/);
    expect(() => parsePipeline({ data: { dataset: 'synthetic', synthetic: { classes: 300 } } }, 'p.json')).toThrow(/field "data\.synthetic\.classes"/);
    expect(() => parsePipeline({ data: { dataset: 'synthetic', synthetic: { counts: { train: 0 } } } }, 'p.json')).toThrow(/field "data\.synthetic\.counts\.train"/);
    expect(() => parsePipeline({ data: { dataset: 'synthetic', synthetic: { size: 3 } } }, 'p.json')).toThrow(/field "data\.synthetic\.size": unknown field/);
    expect(() => parsePipeline({ data: { dataset: 'cifar10', synthetic: {} } }, 'p.json')).toThrow('p.json: field "data.synthetic": only used with "dataset": "synthetic" (dataset is "cifar10")');
  });
});
