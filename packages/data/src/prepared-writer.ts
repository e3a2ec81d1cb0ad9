import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DATASET_FORMAT_VERSION, DataError, FILES, writeFileAtomic, writeManifest, type DatasetMeta } from '@sgdwalk/core';
import { SPLIT_NAMES, pixelsPerImage, splitFileNames, type SplitName } from './prepared.js';

/** What a prepared dataset says of itself, but for what the writer derives (format version, split counts). */
export type PreparedMeta = Omit<DatasetMeta, 'formatVersion' | 'splits'>;

/** One split's bytes: count × H×W×C pixels (HWC per image) and count labels. */
export type SplitBytes = { images: Uint8Array; labels: Uint8Array };

/**
 * Write a prepared-dataset folder (the format readPreparedDataset reads, prepared.ts): each split's files,
 * dataset.json, and the manifest last. The one writer of the format: the data stage writes through it, and
 * so do tests that need a dataset of their own bytes. An old manifest goes first, so an interrupted write is
 * never mistaken for a complete folder; a split whose bytes disagree with the image shape is refused before
 * anything is written.
 */
export async function writePreparedDataset(
  dir: string,
  meta: PreparedMeta,
  splits: Record<SplitName, SplitBytes>,
  manifest: { config: unknown; inputs: Record<string, string> } = { config: {}, inputs: {} },
): Promise<DatasetMeta> {
  const rowBytes = pixelsPerImage(meta);
  for (const split of SPLIT_NAMES) {
    const { images, labels } = splits[split];
    if (images.length !== labels.length * rowBytes) {
      throw new DataError(`${split}: ${images.length} image bytes for ${labels.length} labels of ${meta.imageShape.join('×')} (${labels.length * rowBytes} bytes)`, join(dir, splitFileNames(split).images));
    }
  }
  await mkdir(dir, { recursive: true });
  await rm(join(dir, FILES.manifest), { force: true });
  for (const split of SPLIT_NAMES) {
    const names = splitFileNames(split);
    await writeFileAtomic(join(dir, names.images), splits[split].images);
    await writeFileAtomic(join(dir, names.labels), splits[split].labels);
  }
  // Key order is part of the bytes, and the bytes' sha256 is the dataset's identity in every run trained on
  // it: this order is the format's.
  const written: DatasetMeta = {
    formatVersion: DATASET_FORMAT_VERSION,
    dataset: meta.dataset,
    imageShape: [...meta.imageShape],
    classes: meta.classes,
    normalization: meta.normalization,
    splits: { train: { count: splits.train.labels.length }, validation: { count: splits.validation.labels.length }, test: { count: splits.test.labels.length } },
    sources: meta.sources,
    ...(meta.variant !== undefined && { variant: meta.variant }),
    ...(meta.synthetic !== undefined && { synthetic: meta.synthetic }),
  };
  await writeFileAtomic(join(dir, FILES.dataset), JSON.stringify(written, null, 2) + '\n');
  await writeManifest(dir, { stage: 'data', status: 'complete', config: manifest.config, inputs: manifest.inputs, versions: { node: process.version } });
  return written;
}
