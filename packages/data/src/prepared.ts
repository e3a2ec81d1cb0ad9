import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATASET_FORMAT_VERSION, DataError, FILES, SPLIT_NAMES, parseDatasetMeta, readManifest, sha256, splitFileNames, type DatasetMeta, type SplitName } from '@sgdwalk/core';
import { checkLabels } from './idx.js';

/**
 * The prepared dataset on disk (the data stage's output folder), the contract later stages read:
 *   dataset.json              DatasetMeta
 *   <split>-images.u8         count × H×W×C uint8, row-major, channel last (HWC)
 *   <split>-labels.u8         count uint8 class indices
 *   manifest.json             written last: its presence means the folder is complete
 * Pixels stay uint8 on disk and in memory (a quarter of float32); they become float32 one batch at a time.
 */

/**
 * dataset.json's schema, type and check, and the split files' names, live in core (dataset-file.ts):
 * `sgdwalk import` reads the file too, and `verify` holds a data folder to its files.
 */
export { DATASET_FORMAT_VERSION, SPLIT_NAMES, splitFileNames, type DatasetMeta, type SplitName };

export interface SplitData {
  /** count × H×W×C pixels, HWC per image. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface PreparedDataset {
  meta: DatasetMeta;
  /** sha256 of dataset.json: ties a training run to the exact data it saw. */
  hash: string;
  splits: Record<SplitName, SplitData>;
}

export function pixelsPerImage(meta: Pick<DatasetMeta, 'imageShape'>): number {
  return meta.imageShape.reduce((a, b) => a * b, 1);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const buffer = await readFile(path);
    // A plain Uint8Array view, not a Buffer: Buffer#slice shares memory where Uint8Array#slice copies.
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? 'missing from the prepared dataset (re-run the data stage)' : `cannot read (${code ?? (e as Error).message})`, path);
  }
}

/**
 * Open a prepared dataset: checks that the data stage completed (manifest present), that the metadata is
 * of a version we read, and that every split file has exactly the size the metadata implies.
 */
export async function readPreparedDataset(dir: string): Promise<PreparedDataset> {
  const manifestPath = join(dir, FILES.manifest);
  const manifest = await readManifest(dir).catch(() => {
    throw new DataError(`missing or unreadable: the data stage has not completed in ${dir} (run the data stage first)`, manifestPath);
  });
  if (manifest.stage !== 'data' || manifest.status !== 'complete') {
    throw new DataError(`this is the manifest of stage "${manifest.stage}" (${manifest.status}), not a completed data stage`, manifestPath);
  }
  const metaPath = join(dir, FILES.dataset);
  const metaBytes = await readBytes(metaPath);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(metaBytes.buffer, metaBytes.byteOffset, metaBytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new DataError(`not valid JSON (${(e as Error).message})`, metaPath);
  }
  const meta = parseDatasetMeta(raw, metaPath);
  const rowBytes = pixelsPerImage(meta);
  const splits = {} as Record<SplitName, SplitData>;
  for (const split of SPLIT_NAMES) {
    const names = splitFileNames(split);
    const { count } = meta.splits[split];
    const imagesPath = join(dir, names.images);
    const labelsPath = join(dir, names.labels);
    const images = await readBytes(imagesPath);
    if (images.length !== count * rowBytes) {
      throw new DataError(`${images.length} bytes, ${FILES.dataset} says ${count} images of ${meta.imageShape.join('×')} = ${count * rowBytes} bytes`, imagesPath);
    }
    const labels = await readBytes(labelsPath);
    if (labels.length !== count) throw new DataError(`${labels.length} bytes, ${FILES.dataset} says ${count} labels`, labelsPath);
    checkLabels(labels, meta.classes, labelsPath);
    splits[split] = { images, labels, count };
  }
  return { meta, hash: sha256(metaBytes), splits };
}
