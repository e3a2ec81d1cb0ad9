import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, FILES, readManifest, sha256 } from '@sgdwalk/core';
import { checkLabels } from './idx.js';
import type { SyntheticParams } from './synthetic.js';

/**
 * The prepared dataset on disk (the data stage's output folder), the contract later stages read:
 *   dataset.json              DatasetMeta
 *   <split>-images.u8         count × H×W×C uint8, row-major, channel last (HWC)
 *   <split>-labels.u8         count uint8 class indices
 *   manifest.json             written last: its presence means the folder is complete
 * Pixels stay uint8 on disk and in memory (a quarter of float32); they become float32 one batch at a time.
 */

export type SplitName = 'train' | 'validation' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

export const DATASET_FORMAT_VERSION = 1;

export interface DatasetMeta {
  formatVersion: number;
  dataset: string;
  /** [H, W, C] of one image. */
  imageShape: number[];
  classes: number;
  /** Per channel: x ↦ (x/255 − mean[c]) / std[c]. */
  normalization: { mean: number[]; std: number[] };
  splits: Record<SplitName, { count: number }>;
  /** sha256 of each source file the split files were cut from, by file name (none for generated data). */
  sources: Record<string, string>;
  /** The release of the dataset the sources are, where it has several (CIFAR-10: "official" or another). */
  variant?: string;
  /** The generator's settings, for the synthetic dataset. */
  synthetic?: SyntheticParams;
}

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

export function splitFileNames(split: SplitName): { images: string; labels: string } {
  return { images: `${split}-images.u8`, labels: `${split}-labels.u8` };
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

function checkMeta(raw: unknown, path: string): DatasetMeta {
  const meta = raw as DatasetMeta;
  if (!meta || typeof meta !== 'object' || meta.formatVersion !== DATASET_FORMAT_VERSION) {
    throw new DataError(`dataset format version ${String(meta?.formatVersion)} is not supported (expected ${DATASET_FORMAT_VERSION}); re-run the data stage`, path);
  }
  const shapeOk = Array.isArray(meta.imageShape) && meta.imageShape.length === 3 && meta.imageShape.every((n) => Number.isInteger(n) && n > 0);
  const normOk = [meta.normalization?.mean, meta.normalization?.std].every((a) => Array.isArray(a) && a.length === meta.imageShape?.[2]);
  const splitsOk = SPLIT_NAMES.every((s) => Number.isInteger(meta.splits?.[s]?.count) && meta.splits[s].count >= 0);
  if (!shapeOk || !normOk || !splitsOk || !Number.isInteger(meta.classes)) throw new DataError('malformed dataset metadata (imageShape, normalization, classes or splits)', path);
  return meta;
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
  const meta = checkMeta(raw, metaPath);
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
