import { z } from 'zod';
import { dataSectionSchema } from './config.js';
import { DataError } from './errors.js';
import { checkWith, readJsonFile, type JsonCheck } from './json-file.js';

/**
 * dataset.json, the data stage's description of a prepared dataset (packages/data writes it beside the
 * split files): one schema, the writer's type and every reader's check (the train stage through
 * readPreparedDataset, `sgdwalk import` through readDatasetMeta).
 */
export const DATASET_FORMAT_VERSION = 1;

const positiveInt = z.number().int().positive();
const splitCount = z.object({ count: z.number().int().nonnegative() });

const datasetMetaSchema = z
  .object({
    formatVersion: z.literal(DATASET_FORMAT_VERSION),
    /** The descriptor's name (datasets/<name>.json). */
    dataset: z.string().min(1),
    /** [H, W, C] of one image. */
    imageShape: z.array(positiveInt).length(3, { error: 'must be [H, W, C] of positive integers' }),
    /** Labels are bytes: at most 256 classes. */
    classes: positiveInt.max(256),
    /** Per channel: x ↦ (x/255 − mean[c]) / std[c]. */
    normalization: z.object({ mean: z.array(z.number()), std: z.array(z.number().positive()) }),
    splits: z.object({ train: splitCount, validation: splitCount, test: splitCount }),
    /** sha256 of each source file the split files were cut from, by file name (none for generated data). */
    sources: z.record(z.string(), z.string()),
    /** The release of the dataset the sources are, where it has several (CIFAR-10: "official" or another). */
    variant: z.string().optional(),
    /** The generator's settings, for the synthetic dataset (the pipeline's data.synthetic, resolved). */
    synthetic: dataSectionSchema.shape.synthetic,
  })
  .superRefine((meta, ctx) => {
    const channels = meta.imageShape[2];
    for (const key of ['mean', 'std'] as const) {
      if (meta.normalization[key].length !== channels) {
        ctx.addIssue({ code: 'custom', path: ['normalization', key], message: `must hold ${channels} numbers (one per channel of imageShape)` });
      }
    }
  });

export type DatasetMeta = z.output<typeof datasetMetaSchema>;

/** Check a parsed dataset.json: a DataError naming the file and the first wrong field (the version first). */
export const parseDatasetMeta: JsonCheck<DatasetMeta> = checkWith(datasetMetaSchema, ({ field, message }, file, value) => {
  if (field === 'formatVersion' || field === '(root)') {
    const version = typeof value === 'object' && value !== null ? (value as { formatVersion?: unknown }).formatVersion : undefined;
    return new DataError(`dataset format version ${String(version)} is not supported (expected ${DATASET_FORMAT_VERSION}); re-run the data stage`, file, field);
  }
  return new DataError(`field "${field}": ${message}`, file, field);
});

/** Read and check a prepared dataset's dataset.json (without its split files). */
export async function readDatasetMeta(path: string): Promise<DatasetMeta> {
  return readJsonFile(path, parseDatasetMeta);
}

export type SplitName = 'train' | 'validation' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

/** A split's files in a data folder: count × H×W×C uint8 pixels and count uint8 labels. */
export function splitFileNames(split: SplitName): { images: string; labels: string } {
  return { images: `${split}-images.u8`, labels: `${split}-labels.u8` };
}

/**
 * What to tell the user when an evaluation set asks for more examples than its split holds (issue 23):
 * the analysis then evaluates all of the split — summary.json records the size used (evalSetSize) — and
 * says so up front instead of silently. Undefined when the split is large enough.
 */
export function evalSetShortfall(evalSet: { split: SplitName; size: number | 'all' }, meta: DatasetMeta, file: string): string | undefined {
  const available = meta.splits[evalSet.split].count;
  if (evalSet.size === 'all' || evalSet.size <= available) return undefined;
  return `analyze.evalSet.size is ${evalSet.size}, but the ${evalSet.split} split of ${file} holds ${available} examples: evaluating all ${available} (summary.json records evalSetSize ${available})`;
}
