import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataSectionSchema, parseSection, sha256, silentLogger } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDescriptor } from './descriptor.js';
import { prepareDataset } from './prepare.js';
import { readPreparedDataset } from './prepared.js';
import { generateSynthetic, generateSyntheticSplit, syntheticMeans, type SyntheticParams } from './synthetic.js';

const params: SyntheticParams = { imageShape: [4, 3, 2], classes: 3, counts: { train: 60, validation: 12, test: 30 }, seed: 7, noise: 0.2 };

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sgdwalk-synthetic-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the synthetic generator', () => {
  it('has the configured shape: count × H·W·C bytes and one label per example, each a class', () => {
    const data = generateSynthetic(params);
    expect(data.imageShape).toEqual([4, 3, 2]);
    for (const split of ['train', 'validation', 'test'] as const) {
      const part = data.parts[split];
      expect(part.count).toBe(params.counts[split]);
      expect(part.images.length).toBe(params.counts[split] * 24);
      expect(part.labels.length).toBe(params.counts[split]);
      expect(Math.max(...part.labels)).toBeLessThan(3);
    }
  });

  it('balances the classes (20 each of 60) in a shuffled order', () => {
    const { labels } = generateSyntheticSplit(params, 'train');
    expect([0, 1, 2].map((c) => labels.filter((l) => l === c).length)).toEqual([20, 20, 20]);
    expect(Array.from(labels.subarray(0, 6))).not.toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('same seed, same bytes; another seed, other bytes', () => {
    const a = generateSyntheticSplit(params, 'train');
    const b = generateSyntheticSplit({ ...params }, 'train');
    const c = generateSyntheticSplit({ ...params, seed: 8 }, 'train');
    expect(sha256(a.images)).toBe(sha256(b.images));
    expect(sha256(a.labels)).toBe(sha256(b.labels));
    expect(sha256(a.images)).not.toBe(sha256(c.images));
  });

  it('each split has its own stream: resizing the test split leaves the training examples as they were', () => {
    const a = generateSyntheticSplit(params, 'train');
    const b = generateSyntheticSplit({ ...params, counts: { ...params.counts, test: 500 } }, 'train');
    expect(sha256(a.images)).toBe(sha256(b.images));
    expect(sha256(generateSyntheticSplit(params, 'test').images)).not.toBe(sha256(generateSyntheticSplit(params, 'validation').images));
  });

  it('is learnable: the nearest class mean classifies the test split far above chance', () => {
    const means = syntheticMeans(params);
    const test = generateSyntheticSplit(params, 'test', means);
    let correct = 0;
    for (let i = 0; i < test.count; i++) {
      const image = test.images.subarray(i * 24, (i + 1) * 24);
      const distances = [0, 1, 2].map((c) => image.reduce((a, x, p) => a + (x / 255 - means[c * 24 + p]) ** 2, 0));
      if (distances.indexOf(Math.min(...distances)) === test.labels[i]) correct++;
    }
    expect(correct / test.count).toBeGreaterThan(0.9);
  });

  it('noise 0 gives each class its mean image, rounded to bytes', () => {
    const quiet = { ...params, noise: 0 };
    const means = syntheticMeans(quiet);
    const { images, labels } = generateSyntheticSplit(quiet, 'validation', means);
    expect(images[0]).toBe(Math.round(255 * means[labels[0] * 24]));
    for (const v of means) expect(v >= 0.25 && v < 0.75).toBe(true);
  });
});

describe('prepareDataset on the synthetic dataset', () => {
  it('needs no files, records the generator settings, computes the normalisation from the training split', async () => {
    const config = parseSection(dataSectionSchema, { dataset: 'synthetic', synthetic: { imageShape: [4, 3, 2], classes: 3, counts: { train: 60, validation: 12, test: 30 }, seed: 7 } });
    const outDir = join(tmp, 'out');
    const meta = await prepareDataset({ config, outDir, log: silentLogger });
    expect(meta.dataset).toBe('synthetic');
    expect(meta.synthetic).toEqual(params);
    expect(meta.sources).toEqual({});
    expect(meta.splits).toEqual({ train: { count: 60 }, validation: { count: 12 }, test: { count: 30 } });
    const prepared = await readPreparedDataset(outDir);
    expect(sha256(prepared.splits.train.images)).toBe(sha256(generateSyntheticSplit(params, 'train').images));
    // Class means average to 0.5 per pixel; the clamped noise leaves the channel means near it.
    for (const m of meta.normalization.mean) expect(Math.abs(m - 0.5)).toBeLessThan(0.05);
    for (const s of meta.normalization.std) expect(s).toBeGreaterThan(0.15);
  });

  it('fills in the default settings when the config gives none', async () => {
    const meta = await prepareDataset({ config: { dataset: 'synthetic' }, outDir: join(tmp, 'defaults'), log: silentLogger });
    expect(meta.synthetic).toEqual({ imageShape: [8, 8, 3], classes: 4, counts: { train: 1000, validation: 200, test: 200 }, seed: 0, noise: 0.2 });
    expect(meta.imageShape).toEqual([8, 8, 3]);
  });

  it('its descriptor validates', async () => {
    expect((await loadDescriptor('synthetic')).format).toBe('synthetic');
  });
});
