import { stat } from 'node:fs/promises';
import { CHECKPOINT_FILE_BOUNDS, checkCheckpointFile, readCheckpointFile } from './file-bounds.js';
import { join } from 'node:path';
import { CheckpointError, SHARD_FILE_PATTERN, checkpointIndexSchema, fieldOf, writeFileAtomic } from '@sgdwalk/core';
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

const SHARD_NAME = SHARD_FILE_PATTERN;
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
    await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT' ? `missing: ${dir} is not a checkpoint folder, or its writer never started` : `cannot read (${code ?? (e as Error).message})`,
      path,
    );
  }
  // Refused by type and size before reading: index.json is in a folder anyone may hand to verify or analyze.
  text = (await readCheckpointFile(path, CHECKPOINT_FILE_BOUNDS.index)).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`not valid JSON (${(e as Error).message})`, path);
  }
  return validateIndex(raw, path);
}

function validateIndex(raw: unknown, path: string): CheckpointIndex {
  // The version first, so an index of another version says so rather than naming a field it lacks.
  const version = typeof raw === 'object' && raw !== null ? (raw as { formatVersion?: unknown }).formatVersion : undefined;
  if (typeof version === 'number') checkFormatVersion(version, path);
  // The schema is core's (file contracts live there); the meaning of the version is this package's.
  const result = checkpointIndexSchema.safeParse(raw);
  if (result.success) return raw as CheckpointIndex;
  const issue = result.error.issues[0];
  const field = fieldOf(issue.path);
  const what = field === '(root)' ? issue.message : issue.code === 'invalid_type' && issue.input === undefined ? `${field} missing` : `${field} ${issue.message}`;
  throw new CheckpointError(`not a checkpoint index: ${what}`, path);
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
  // A device or FIFO under a shard's name is refused here, by type, before anything opens it.
  await checkCheckpointFile(path, CHECKPOINT_FILE_BOUNDS.shard);
  if (size !== entry.bytes) {
    throw new CheckpointError(
      `${size} bytes, ${INDEX_FILE} records ${entry.bytes}: the shard was ${size < entry.bytes ? 'truncated' : 'rewritten'} (steps ${describeSteps(entry.steps)})`,
      path,
    );
  }
}
