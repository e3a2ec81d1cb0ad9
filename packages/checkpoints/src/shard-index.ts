import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, SgdwalkError, writeFileAtomic, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { checkFormatVersion, type CheckpointMeta } from './meta.js';
import { describeSteps } from './step-ranges.js';

export const INDEX_FILE = 'index.json';

/** One finalized shard as index.json records it; the arrays run parallel, one entry per checkpoint. */
export interface ShardEntry {
  file: string;
  /** Byte size of the finalized shard: a truncated or rewritten shard is caught before any read. */
  bytes: number;
  steps: number[];
  epochs: number[];
  sha256: string[];
}

export interface CheckpointIndex extends CheckpointMeta {
  shards: ShardEntry[];
}

const SHARD_NAME = /^shard-(\d{6,})\.arrow$/;
const PARTIAL_NAME = /^\.shard-(\d{6,})\.arrow\.partial$/;

export function shardFileName(number: number): string {
  return `shard-${String(number).padStart(6, '0')}.arrow`;
}

/** The in-progress shard: dot-prefixed, so listings, manifests and the reader never take it for an output. */
export function partialFileName(number: number): string {
  return `.${shardFileName(number)}.partial`;
}

export function shardNumberOf(name: string): number | null {
  const m = SHARD_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

export function partialNumberOf(name: string): number | null {
  const m = PARTIAL_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

export async function writeIndex(dir: string, index: CheckpointIndex): Promise<void> {
  const path = join(dir, INDEX_FILE);
  // writeFileAtomic's error already names the file and the cause.
  await writeFileAtomic(path, JSON.stringify(index) + '\n');
}

/** Read and validate index.json; every structural problem is a CheckpointError naming it. */
export async function readIndex(dir: string): Promise<CheckpointIndex> {
  const path = join(dir, INDEX_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT' ? `missing: ${dir} is not a checkpoint folder, or its writer never started` : `cannot read (${code ?? (e as Error).message})`,
      path,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`not valid JSON (${(e as Error).message})`, path);
  }
  return validateIndex(raw, path);
}

function validateIndex(raw: unknown, path: string): CheckpointIndex {
  const bad = (what: string): never => {
    throw new CheckpointError(`not a checkpoint index: ${what}`, path);
  };
  if (!isObject(raw)) bad('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o.formatVersion !== 'number') bad('formatVersion missing');
  checkFormatVersion(o.formatVersion as number, path);
  if (typeof o.runId !== 'string') bad('runId missing');
  if (!isObject(o.model)) bad('model missing');
  const layout = o.layout as ParameterLayout;
  if (!isObject(layout) || !Array.isArray(layout.tensors) || !Number.isInteger(layout.totalSize)) bad('layout missing');
  if (!Array.isArray(o.shards)) bad('shards missing');
  let lastStep = -Infinity;
  const seen = new Set<string>();
  const shards = (o.shards as unknown[]).map((s, i): ShardEntry => {
    if (!isObject(s)) bad(`shards[${i}] is not an object`);
    const e = s as Record<string, unknown>;
    // The file name is joined to the folder: only our own names, never a path that escapes it.
    if (typeof e.file !== 'string' || shardNumberOf(e.file) === null) bad(`shards[${i}].file is not a shard name`);
    if (seen.has(e.file as string)) bad(`shards[${i}].file ${e.file} is listed twice`);
    seen.add(e.file as string);
    if (!Number.isInteger(e.bytes) || (e.bytes as number) <= 0) bad(`shards[${i}].bytes is not a positive integer`);
    const steps = e.steps as number[];
    const epochs = e.epochs as number[];
    const hashes = e.sha256 as string[];
    if (!Array.isArray(steps) || steps.length === 0 || !steps.every(Number.isInteger)) bad(`shards[${i}].steps is not a list of integers`);
    if (!Array.isArray(epochs) || epochs.length !== steps.length || !epochs.every(Number.isInteger)) bad(`shards[${i}].epochs does not match its steps`);
    if (!Array.isArray(hashes) || hashes.length !== steps.length || !hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
      bad(`shards[${i}].sha256 does not match its steps`);
    }
    for (const step of steps) {
      if (!(step > lastStep)) bad(`steps are not strictly ascending at step ${step} (shards[${i}])`);
      lastStep = step;
    }
    return { file: e.file as string, bytes: e.bytes as number, steps, epochs, sha256: hashes };
  });
  return { formatVersion: o.formatVersion as number, runId: o.runId as string, model: o.model as ModelSpec, layout, shards };
}

function isObject(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A listed shard must exist with the size recorded when it was finalized. */
export async function checkShardSize(dir: string, entry: ShardEntry): Promise<void> {
  const path = join(dir, entry.file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `missing: ${INDEX_FILE} lists this shard (steps ${describeSteps(entry.steps)})` : `cannot stat (${code})`, path);
  }
  if (size !== entry.bytes) {
    throw new CheckpointError(
      `${size} bytes, ${INDEX_FILE} records ${entry.bytes}: the shard was ${size < entry.bytes ? 'truncated' : 'rewritten'} (steps ${describeSteps(entry.steps)})`,
      path,
    );
  }
}
