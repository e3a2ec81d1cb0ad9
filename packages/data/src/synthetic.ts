import { Rng, deriveSeed, permutation, type DataConfig } from '@sgdwalk/core';
import type { LabelledImages } from './idx.js';
import type { LoadedDataset } from './load.js';
import { SPLIT_NAMES, type SplitName } from './prepared.js';

/**
 * The synthetic dataset (tests, benchmarks): any image shape, class count and split sizes, no files. Each
 * class has a mean image drawn uniformly from [0.25, 0.75] per pixel (in units of x/255); an example is
 * its class's mean plus Gaussian noise of standard deviation `noise`, rounded and clamped to a byte. The
 * classes are as balanced as the counts allow, in a seeded order. Everything derives from `seed`, each
 * split from its own stream, so changing one split's size leaves the others' examples as they were.
 */

export type SyntheticParams = NonNullable<DataConfig['synthetic']>;

/** The class means, classes × H·W·C, in units of x/255. */
export function syntheticMeans(params: SyntheticParams): Float64Array {
  const pixels = params.imageShape[0] * params.imageShape[1] * params.imageShape[2];
  const rng = new Rng(deriveSeed(params.seed, 'synthetic', 'means'));
  const means = new Float64Array(params.classes * pixels);
  for (let i = 0; i < means.length; i++) means[i] = 0.25 + 0.5 * rng.uniform();
  return means;
}

/** One split: `count` examples, labels 0..classes−1 balanced and shuffled, images HWC uint8. */
export function generateSyntheticSplit(params: SyntheticParams, split: SplitName, means = syntheticMeans(params)): LabelledImages {
  const count = params.counts[split];
  const pixels = params.imageShape[0] * params.imageShape[1] * params.imageShape[2];
  const rng = new Rng(deriveSeed(params.seed, 'synthetic', split));
  const order = permutation(count, rng);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[order[i]] = i % params.classes;
  const images = new Uint8Array(count * pixels);
  for (let i = 0; i < count; i++) {
    const mean = means.subarray(labels[i] * pixels, (labels[i] + 1) * pixels);
    const image = images.subarray(i * pixels, (i + 1) * pixels);
    for (let p = 0; p < pixels; p++) {
      const v = Math.round(255 * (mean[p] + params.noise * rng.normal()));
      image[p] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { images, labels, count };
}

/** All three splits, each its own part; normalisation computed from the training split like the real datasets. */
export function generateSynthetic(params: SyntheticParams): LoadedDataset {
  const means = syntheticMeans(params);
  const parts: Record<string, LabelledImages> = {};
  for (const split of SPLIT_NAMES) parts[split] = generateSyntheticSplit(params, split, means);
  return {
    imageShape: [...params.imageShape],
    classes: params.classes,
    parts,
    splits: {
      train: { part: 'train', start: 0, count: params.counts.train },
      validation: { part: 'validation', start: 0, count: params.counts.validation },
      test: { part: 'test', start: 0, count: params.counts.test },
    },
    normalization: { from: 'train' },
    sources: {},
    inputs: {},
    synthetic: structuredClone(params),
  };
}
