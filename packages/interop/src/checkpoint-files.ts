import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { z } from 'zod';
import { SgdwalkError, checkRegularFile, checkWith, parseJsonText, pathExists, readBoundedFile, type JsonCheck } from '@sgdwalk/core';
import { SAFETENSORS_BOUND } from './safetensors.js';
import { interopError } from './interop-error.js';

/** A checkpoint folder's manifest, mapping steps to files: {"0": "init.safetensors", "10": "ckpt-10.safetensors"}. */
export const STEPS_MANIFEST = 'steps.json';
/** A sharded step's index (Hugging Face's layout): {"metadata": {...}, "weight_map": {tensor: shard file}}. */
export const SHARD_INDEX = 'model.safetensors.index.json';
/** steps.json and a shard index are small maps of names; a larger one is not a checkpoint folder's. */
const MAX_MAP_BYTES = 64 * 1024 * 1024;

const fileContractError = (issue: { field: string; message: string }, file: string) =>
  issue.field === '(root)' ? new SgdwalkError(`${file}: ${issue.message}`, 'import', { file }) : new SgdwalkError(`${file}: field "${issue.field}": ${issue.message}`, 'import', { file, field: issue.field });

/**
 * steps.json's schema: an object whose keys are steps (non-negative integers, as JSON keys are strings) and
 * whose values are paths relative to the folder (a safetensors file, or a folder holding a sharded step).
 * The error names steps.json and the key.
 */
const stepsManifestSchema = z.record(
  z
    .string()
    .regex(/^\d+$/)
    .refine((key) => Number.isSafeInteger(Number(key))),
  z.string({ error: 'must be a file path relative to the checkpoint folder' }).min(1, { error: 'must be a file path relative to the checkpoint folder' }),
  {
    error: (issue) =>
      issue.code === 'invalid_key' ? 'is not a step (a non-negative integer)' : 'must be an object mapping steps to safetensors files, e.g. {"0": "init.safetensors"}',
  },
);
const checkStepsManifest = checkWith(stepsManifestSchema, fileContractError);

/** A shard index's schema: only weight_map is read (metadata, e.g. total_size, is informational). */
const shardIndexSchema = z.object({
  weight_map: z.record(z.string(), z.string().min(1), { error: 'must map tensor names to shard files, e.g. {"fc1.weight": "model-00001-of-00002.safetensors"}' }),
});
const checkShardIndex = checkWith(shardIndexSchema, fileContractError);

/**
 * An entry of a checkpoint folder named for its step: `step-<N>`, `checkpoint-<N>` (Hugging Face's Trainer)
 * or a bare `<N>`, any zero padding; a `.safetensors` file, or a folder holding the step (one safetensors file,
 * or shards with their index).
 */
const STEP_NAME = /^(?:step-|checkpoint-)?(\d+)(\.safetensors)?$/;

export interface StepFile {
  step: number;
  /** The step's safetensors file, or the folder holding it (one file, or shards and their index). */
  file: string;
}

/** Where a step's tensors are: one safetensors file, or shards each holding the tensors the index assigns it. */
export interface StepShards {
  /** The file or folder the step was listed as (what errors about the step as a whole name). */
  path: string;
  shards: Array<{ file: string; tensors?: Set<string> }>;
  /** The shard index, for a sharded step. */
  index?: string;
}

/** A JSON map file, read within its bound (a device or a huge file is refused before reading). */
async function readMapFile<T>(path: string, what: string, check: JsonCheck<T>): Promise<T> {
  const bytes = await readBoundedFile(path, { maxBytes: MAX_MAP_BYTES, what, code: 'import' });
  return parseJsonText(bytes.toString('utf8'), path, check);
}

/** A path relative to a folder that stays inside it (a shard index pointing elsewhere is refused). */
function inside(dir: string, relative: string, what: string, file: string): string {
  const joined = normalize(join(dir, relative));
  if (isAbsolute(relative) || !(joined.startsWith(normalize(dir) + sep))) throw interopError(file, `${what} "${relative}" is outside ${dir}: give a path inside the folder`);
  return joined;
}

/**
 * The checkpoints of a folder by step, ascending: from steps.json when the folder has one, else every entry
 * named for its step (step-<N>, checkpoint-<N> or <N>; a .safetensors file or a folder). Two entries for one
 * step (step-1 and step-001), a bad step or no entry at all is an error naming the folder.
 */
export async function listStepFiles(dir: string): Promise<StepFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw interopError(dir, `cannot read the checkpoint folder (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const manifest = join(dir, STEPS_MANIFEST);
  let files: StepFile[];
  if (await pathExists(manifest)) {
    const steps = await readMapFile(manifest, 'steps manifest', checkStepsManifest);
    files = Object.entries(steps).map(([key, file]) => ({ step: Number(key), file: join(dir, file) }));
  } else {
    const byStep = new Map<number, string>();
    for (const entry of entries) {
      const match = STEP_NAME.exec(entry.name);
      if (!match) continue;
      // A step is a .safetensors entry (whatever it is: the reader refuses what is not a regular file) or a
      // folder (a link to one too); other entries (notes, metrics) are not steps.
      const folder = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).then((s) => s.isDirectory(), () => false)));
      if (match[2] ? folder : !folder) continue;
      const step = Number(match[1]);
      if (!Number.isSafeInteger(step)) continue;
      const other = byStep.get(step);
      if (other) throw interopError(dir, `two checkpoints of step ${step}: ${other} and ${entry.name}`);
      byStep.set(step, entry.name);
    }
    files = [...byStep].map(([step, name]) => ({ step, file: join(dir, name) }));
  }
  if (files.length === 0) throw interopError(dir, `no checkpoints: expected step-<N>.safetensors files (or <N>.safetensors, or a folder per step: step-<N>/) or a ${STEPS_MANIFEST}`);
  return files.sort((a, b) => a.step - b.step);
}

/**
 * Every listed step checked by type and size before the first is read (a step folder is read as shards), so
 * a device or a huge file at step 40 is refused before 39 steps of work.
 */
export async function checkStepFiles(files: readonly StepFile[]): Promise<void> {
  for (const { file } of files) {
    const folder = await stat(file).then((s) => s.isDirectory(), () => false);
    if (!folder) await checkRegularFile(file, SAFETENSORS_BOUND);
  }
}

/**
 * The safetensors files of one step: the file itself, or in a step folder the shards its
 * model.safetensors.index.json names (each shard must hold exactly the tensors the index assigns it; checked
 * by the reader), else the folder's one .safetensors file.
 */
export async function stepShards(path: string): Promise<StepShards> {
  const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw interopError(path, `cannot read the checkpoint (${e.code ?? e})`);
  });
  if (!info.isDirectory()) return { path, shards: [{ file: path }] };
  const index = join(path, SHARD_INDEX);
  if (await pathExists(index)) {
    const { weight_map: weightMap } = await readMapFile(index, 'shard index', checkShardIndex);
    const byShard = new Map<string, Set<string>>();
    for (const [tensor, shard] of Object.entries(weightMap)) {
      const file = inside(path, shard, `tensor ${tensor}'s shard`, index);
      if (!byShard.has(file)) byShard.set(file, new Set());
      byShard.get(file)!.add(tensor);
    }
    if (byShard.size === 0) throw interopError(index, 'the weight_map is empty: no tensor is stored');
    return { path, index, shards: [...byShard].map(([file, tensors]) => ({ file, tensors })) };
  }
  const single = (await readdir(path)).filter((name) => name.endsWith('.safetensors'));
  if (single.length !== 1) {
    throw interopError(path, `a step folder holds one .safetensors file or shards with a ${SHARD_INDEX}; this one has ${single.length} .safetensors files${single.length ? ` (${single.slice(0, 3).join(', ')})` : ''} and no index`);
  }
  return { path, shards: [{ file: join(path, single[0]) }] };
}
