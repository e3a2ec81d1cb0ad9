import { join } from 'node:path';
import { parseSection, dataSectionSchema, type DataConfig, type Logger } from '@sgdwalk/core';
import { loadCifar } from './cifar.js';
import type { DatasetDescriptor, IdxDescriptor, NormalizationSpec, SplitSpecs } from './descriptor.js';
import { readLabelledImages, type LabelledImages } from './idx.js';
import { resolveDataDir, verifySources } from './sources.js';
import { generateSynthetic, type SyntheticParams } from './synthetic.js';

/**
 * A dataset in memory as its loader delivers it, whatever its format: the parts (uint8, HWC, labels
 * checked), the splits to cut from them, and what the prepared dataset records about its sources.
 */
export interface LoadedDataset {
  imageShape: number[];
  classes: number;
  parts: Record<string, LabelledImages>;
  splits: SplitSpecs;
  normalization: NormalizationSpec;
  /** sha256 of each file the examples come from, by name (dataset.json's `sources`). */
  sources: Record<string, string>;
  /** sha256 of each file read (the manifest's inputs): the sources, or the archive they were read from. */
  inputs: Record<string, string>;
  /** The release the files are, where the descriptor names releases. */
  variant?: string;
  /** The generator's settings, for the synthetic dataset. */
  synthetic?: SyntheticParams;
}

/** MNIST-like IDX files: checksums first, then each part's images and labels. */
async function loadIdx(descriptor: IdxDescriptor, config: DataConfig, log: Logger): Promise<LoadedDataset> {
  const location = resolveDataDir(config, descriptor);
  log.info(`data: ${descriptor.name} from ${location.dir} (${location.setting})`);
  const sources = await verifySources(descriptor, location, log);
  log.info(`data: ${descriptor.files.length} source files match their sha256`);
  const parts: Record<string, LabelledImages> = {};
  for (const [name, part] of Object.entries(descriptor.parts)) {
    parts[name] = await readLabelledImages(join(location.dir, part.images), join(location.dir, part.labels), descriptor);
  }
  return { imageShape: [...descriptor.imageShape], classes: descriptor.classes, parts, splits: descriptor.splits, normalization: descriptor.normalization, sources, inputs: sources };
}

/** Load the dataset a descriptor describes, from where the config (or the environment) says it is. */
export async function loadDataset(descriptor: DatasetDescriptor, config: DataConfig, log: Logger): Promise<LoadedDataset> {
  switch (descriptor.format) {
    case 'idx':
      return loadIdx(descriptor, config, log);
    case 'cifar-binary': {
      const location = resolveDataDir(config, descriptor);
      log.info(`data: ${descriptor.name} from ${location.dir} (${location.setting})`);
      return loadCifar(descriptor, location, log);
    }
    case 'synthetic': {
      // A config that did not go through the pipeline schema may leave the generator's settings out.
      const params = config.synthetic ?? parseSection(dataSectionSchema, { dataset: 'synthetic' }).synthetic!;
      log.info(`data: synthetic, ${params.classes} classes of ${params.imageShape.join('×')} images, seed ${params.seed}`);
      return generateSynthetic(params);
    }
  }
}
