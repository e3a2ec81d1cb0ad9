import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DataError, checkWith, type JsonCheck } from '@sgdwalk/core';
import { SPLIT_NAMES } from './prepared.js';

/**
 * A dataset descriptor (datasets/<name>.json at the repository root): what the dataset's files are, their
 * checksums, how they are split, and where a user gets them. Code is per format (IDX, CIFAR binary,
 * synthetic), not per dataset: a new dataset in a known format is a new descriptor, not new code.
 *
 * One schema (below) is the contract: the types the data stage works with are its output, and
 * checkDescriptor is its one check. The descriptor is ours, not user input, but a typo in one must fail
 * when it is read, with its field named, not as a wrong split later.
 */

const positiveInt = z.number().int().positive();
const isPositiveInt = (v: number) => Number.isInteger(v) && v > 0;
const byteCount = z.number({ error: 'must be a byte count' }).refine((v) => Number.isInteger(v) && v >= 0, { error: 'must be a byte count' });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lower-case hex digits' });
const md5Hex = z.string().regex(/^[0-9a-f]{32}$/, { error: 'must be 32 lower-case hex digits' });
const needsChecksum = 'needs a sha256 or an md5';

/**
 * One accepted version of a file. A file that circulates in more than one form (the publisher's archive
 * and a mirror's, gzip with and without the original name in its header) lists each; `variant` names the
 * release, and files of one dataset must agree on it where that matters (CIFAR-10's image order). At least
 * one of sha256 and md5: sha256 is checked when present, md5 only where no sha256 is known.
 */
const fileVersionSchema = z
  .object({ variant: z.string({ error: 'must be a string' }).optional(), bytes: byteCount, sha256: sha256Hex.optional(), md5: md5Hex.optional() })
  .refine((v) => v.sha256 !== undefined || v.md5 !== undefined, { error: needsChecksum });
export type FileVersion = z.output<typeof fileVersionSchema>;

/** A source file: `name` plus either one version inline (bytes, sha256, md5) or a non-empty `versions`. */
const sourceFileSchema = z
  .object({
    name: z.string({ error: 'must be a file name' }).min(1, { error: 'must be a file name' }),
    bytes: byteCount.optional(),
    sha256: sha256Hex.optional(),
    md5: md5Hex.optional(),
    versions: z.array(fileVersionSchema).min(1, { error: 'must list at least one version' }).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.versions !== undefined) {
      if (f.bytes !== undefined || f.sha256 !== undefined || f.md5 !== undefined) ctx.addIssue({ code: 'custom', message: 'gives both inline checksums and versions; use one' });
      return;
    }
    if (f.bytes === undefined) ctx.addIssue({ code: 'custom', path: ['bytes'], message: 'must be a byte count' });
    else if (f.sha256 === undefined && f.md5 === undefined) ctx.addIssue({ code: 'custom', message: needsChecksum });
  });
export type SourceFile = z.output<typeof sourceFileSchema>;

/** Fixed constants of (x/255 − mean) / std per channel, or computed from the training split when preparing. */
const normalizationSchema = z.union([
  z.strictObject({ mean: z.array(z.number()), std: z.array(z.number().positive()) }),
  z.strictObject({ from: z.literal('train', { error: 'must be "train" (constants computed from the training split)' }) }),
]);
export type NormalizationSpec = z.output<typeof normalizationSchema>;

/** Our splits, each a contiguous range of one of the dataset's parts. */
const splitSpec = z.object({ part: z.string(), start: z.number().int().nonnegative(), count: positiveInt });
const splitsSchema = z.object({ train: splitSpec, validation: splitSpec, test: splitSpec });
export type SplitSpecs = z.output<typeof splitsSchema>;

const descriptorBase = {
  name: z.string({ error: 'must be a string' }),
  title: z.string().optional(),
  /**
   * The default location: the data folder of an npm package, or an absolute folder (e.g. where a Debian
   * package installs the files); `howToGet` tells a user how to get the files otherwise.
   */
  location: z.object(
    {
      npmPackage: z.string().optional(),
      npmVersion: z.string().optional(),
      debianPackage: z.string().optional(),
      folder: z.string().optional(),
      howToGet: z.string({ error: 'must say how to get the files' }),
    },
    { error: 'must say how to get the files' },
  ),
  /** Anything a user should know about the files: releases, splits, provenance of the checksums. */
  notes: z.string().optional(),
  source: z.string().optional(),
  license: z.string().optional(),
};

const classesError = 'must be an integer in 1..256 (labels are bytes)';
const imageBase = {
  ...descriptorBase,
  classes: z.number({ error: classesError }).refine((v) => Number.isInteger(v) && v >= 1 && v <= 256, { error: classesError }),
  /** [H, W, C]: the layout of one image in the prepared files (channel last). */
  imageShape: z.array(positiveInt, { error: 'must be [H, W, C] of positive integers' }).length(3, { error: 'must be [H, W, C] of positive integers' }),
  normalization: normalizationSchema,
  splits: splitsSchema,
  /** The files, by name (each part names the ones it is read from). */
  files: z.array(sourceFileSchema, { error: 'must list the dataset files' }).min(1, { error: 'must list the dataset files' }),
};

type Ctx = z.core.$RefinementCtx;
const issue = (ctx: Ctx, path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });

/** Fixed normalization constants hold one number per channel. */
function refineNormalization(d: { imageShape: number[]; normalization: NormalizationSpec }, ctx: Ctx): void {
  const channels = d.imageShape[2];
  const n = d.normalization;
  if ('from' in n) return;
  if (n.mean.length !== channels || !n.mean.every(Number.isFinite)) issue(ctx, ['normalization', 'mean'], `must hold ${channels} finite numbers (one per channel)`);
  if (n.std.length !== channels) issue(ctx, ['normalization', 'std'], `must hold ${channels} positive numbers (one per channel)`);
}

/** Every split names one of the parts and fits in the examples it holds. */
function refineSplits(splits: SplitSpecs, counts: Record<string, number>, ctx: Ctx): void {
  for (const split of SPLIT_NAMES) {
    const s = splits[split];
    const count = counts[s.part];
    if (count === undefined) issue(ctx, ['splits', split, 'part'], `"${s.part}" is not one of parts`);
    else if (s.start + s.count > count) issue(ctx, ['splits', split], `range [${s.start}, ${s.start + s.count}) does not fit in the ${count} examples of part "${s.part}"`);
  }
}

/** MNIST, Fashion-MNIST: one IDX images file and one IDX labels file per part, plain or gzip. */
const idxDescriptorSchema = z
  .object({
    ...imageBase,
    format: z.literal('idx'),
    parts: z.record(z.string(), z.object({ images: z.string(), labels: z.string(), count: z.number({ error: 'must be a positive integer' }).refine(isPositiveInt, { error: 'must be a positive integer' }) }), {
      error: 'must map part names to their files',
    }),
  })
  .superRefine((d, ctx) => {
    refineNormalization(d, ctx);
    const names = new Set(d.files.map((f) => f.name));
    for (const [part, p] of Object.entries(d.parts)) {
      if (!names.has(p.images)) issue(ctx, ['parts', part, 'images'], `"${p.images}" is not listed in files`);
      if (!names.has(p.labels)) issue(ctx, ['parts', part, 'labels'], `"${p.labels}" is not listed in files`);
    }
    refineSplits(d.splits, Object.fromEntries(Object.entries(d.parts).map(([part, p]) => [part, p.count])), ctx);
  });
export type IdxDescriptor = z.output<typeof idxDescriptorSchema>;

/**
 * CIFAR-10's binary release: batch files of records (1 label byte, then the R, G and B planes of 32×32
 * bytes, row-major), inside `archive` (a .tar.gz, under `folder/`) or extracted from it.
 */
const cifarDescriptorSchema = z
  .object({
    ...imageBase,
    format: z.literal('cifar-binary'),
    archive: sourceFileSchema,
    /** The folder inside the archive, and the name of the extracted folder. */
    folder: z.string({ error: 'must name the folder inside the archive' }).min(1, { error: 'must name the folder inside the archive' }),
    /** The class-names file (one per line), checked by content: its releases differ only in a trailing blank line. */
    classNamesFile: z.string({ error: 'must name the class-names file' }).min(1, { error: 'must name the class-names file' }),
    classNames: z.array(z.string()),
    /** Each part: its batch files, in order (by name inside `folder`), and how many records they hold together. */
    parts: z.record(
      z.string(),
      z.object({ files: z.array(z.string()).min(1, { error: 'must list the batch files of the part' }), count: z.number() }),
      { error: 'must map part names to their files' },
    ),
  })
  .superRefine((d, ctx) => {
    refineNormalization(d, ctx);
    if (d.classNames.length !== d.classes) issue(ctx, ['classNames'], `must list the ${d.classes} class names`);
    const [h, w, c] = d.imageShape;
    const recordBytes = 1 + h * w * c;
    // The record count of a batch is fixed by the descriptor's splits, so its releases must agree on its size.
    const records = new Map<string, number>();
    for (const [i, f] of d.files.entries()) {
      const sizes = new Set(f.versions?.map((v) => v.bytes) ?? [f.bytes]);
      const [bytes] = sizes;
      if (sizes.size !== 1 || bytes === undefined) issue(ctx, ['files', i], 'every version of a batch file must have the same size');
      else if (bytes % recordBytes !== 0) issue(ctx, ['files', i], `${bytes} bytes is not a whole number of ${recordBytes}-byte records`);
      else records.set(f.name, bytes / recordBytes);
    }
    const names = new Set(d.files.map((f) => f.name));
    for (const [part, p] of Object.entries(d.parts)) {
      const unlisted = p.files.find((name) => !names.has(name));
      if (unlisted !== undefined) {
        issue(ctx, ['parts', part, 'files'], `"${unlisted}" is not listed in files`);
        continue;
      }
      const held = p.files.reduce((sum, name) => sum + (records.get(name) ?? NaN), 0);
      if (!isPositiveInt(p.count) || p.count !== held) issue(ctx, ['parts', part, 'count'], `must be the ${held} records its files hold`);
    }
    refineSplits(d.splits, Object.fromEntries(Object.entries(d.parts).map(([part, p]) => [part, p.count])), ctx);
  });
export type CifarDescriptor = z.output<typeof cifarDescriptorSchema>;

/** Generated data (no files): the generator's settings are the pipeline's data.synthetic. */
const syntheticDescriptorSchema = z.object({
  ...descriptorBase,
  format: z.literal('synthetic'),
  generator: z.string({ error: 'must describe the generator' }),
});
export type SyntheticDescriptor = z.output<typeof syntheticDescriptorSchema>;

const FORMATS = ['idx', 'cifar-binary', 'synthetic'] as const;

const descriptorSchema = z.discriminatedUnion('format', [idxDescriptorSchema, cifarDescriptorSchema, syntheticDescriptorSchema], {
  error: (iss) => {
    if (iss.code !== 'invalid_union') return 'not an object';
    const format = (iss.input as { format?: unknown }).format;
    const known = `one of ${FORMATS.map((f) => `"${f}"`).join(', ')}`;
    return format === undefined ? `missing (${known})` : `"${String(format)}" is not supported (${known})`;
  },
});

export type DatasetDescriptor = z.output<typeof descriptorSchema>;
export type FileDescriptor = IdxDescriptor | CifarDescriptor;

/** Check a parsed descriptor: the descriptor, or a DataError naming the file and the first wrong field. */
export const checkDescriptor: JsonCheck<DatasetDescriptor> = checkWith(descriptorSchema, ({ field, message }, file) => new DataError(`descriptor field "${field}": ${message}`, file, field));

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

