import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, SgdwalkError, type ParameterLayout } from '@sgdwalk/core';
import { layoutDifference } from './meta.js';
import { checkCheckpointContent, checkShardBelongs, ShardFile } from './shard-file.js';
import { checkShardSize, INDEX_FILE, readIndex, shardNumberOf } from './shard-index.js';

/** One thing wrong with a checkpoint folder: the file (a path under the folder), the step when there is one. */
export interface StoreProblem {
  file: string;
  step?: number;
  message: string;
}

export interface StoreVerification {
  problems: StoreProblem[];
  /** Checkpoints read back (each counted once, whether or not it passed). */
  checkpointsChecked: number;
}

/**
 * Check a whole checkpoint folder and collect every problem instead of stopping at the first: the index,
 * the layout against `expected.layout`, each listed shard's size, that it belongs to the run, and every
 * checkpoint's step, epoch, length and sha256 — the checks CheckpointReader.open and read() make, shard
 * by shard, so one truncated shard does not hide a corrupt checkpoint in another. A shard that fails its
 * size or ownership check is reported once and its checkpoints are not read. Shard files the index does
 * not list are reported too (a `.partial` shard is a writer's unfinished work, not a problem).
 */
export async function verifyCheckpointStore(dir: string, expected: { layout?: ParameterLayout } = {}): Promise<StoreVerification> {
  const problems: StoreProblem[] = [];
  const report = (e: unknown, file = dir): void => {
    problems.push(problemOf(e, file));
  };
  let index;
  try {
    index = await readIndex(dir);
  } catch (e) {
    report(e, join(dir, INDEX_FILE));
    return { problems, checkpointsChecked: 0 };
  }
  if (expected.layout) {
    const difference = layoutDifference(index.layout, expected.layout);
    if (difference) report(new CheckpointError(difference, join(dir, INDEX_FILE)));
  }

  const listed = new Set(index.shards.map((s) => s.file));
  try {
    for (const name of (await readdir(dir)).sort()) {
      if (shardNumberOf(name) !== null && !listed.has(name)) {
        report(new CheckpointError(`not listed in ${INDEX_FILE}: not part of the run (a shard never indexed, or copied in)`, join(dir, name)));
      }
    }
  } catch (e) {
    report(new CheckpointError(`cannot list (${(e as NodeJS.ErrnoException).code ?? e})`, dir));
  }

  let checkpointsChecked = 0;
  const size = index.layout.totalSize;
  for (const entry of index.shards) {
    const path = join(dir, entry.file);
    try {
      await checkShardSize(dir, entry);
    } catch (e) {
      report(e, path);
      continue;
    }
    let shard: ShardFile;
    try {
      shard = await ShardFile.open(path);
    } catch (e) {
      report(e, path);
      continue;
    }
    try {
      checkShardBelongs(shard, index, entry.steps.length);
    } catch (e) {
      report(e, path);
      await shard.close();
      continue;
    }
    for (const [batch, step] of entry.steps.entries()) {
      checkpointsChecked++;
      try {
        const content = await shard.read(batch, step);
        checkCheckpointContent(content, { batch, step, epoch: entry.epochs[batch], sha256: entry.sha256[batch], size }, path);
      } catch (e) {
        problems.push(problemOf(e, path, step));
      }
    }
    await shard.close();
  }
  return { problems, checkpointsChecked };
}

/**
 * A problem from a thrown error: file and step from an SgdwalkError, its message without the
 * "file (step N): " prefix the error classes put in front (whoever prints the problem names file and step
 * itself). Any other error met while reading a damaged file (the Arrow library can throw its own on bytes
 * it cannot parse) becomes a problem of `file` too, so one odd file does not stop the rest of the check.
 */
export function problemOf(e: unknown, file: string, step?: number): StoreProblem {
  const at = (f: string, s: number | undefined, message: string): StoreProblem => (s === undefined ? { file: f, message } : { file: f, step: s, message });
  if (!(e instanceof SgdwalkError)) {
    const err = e as Error;
    return at(file, step, `unreadable (${err?.name ?? 'Error'}: ${err?.message ?? String(e)}): file corrupt`);
  }
  const where = e.where.file ?? file;
  const s = e.where.step ?? step;
  let message = e.message;
  for (const prefix of [`${where} (step ${s}): `, `${where}: `]) {
    if (message.startsWith(prefix)) {
      message = message.slice(prefix.length);
      break;
    }
  }
  return at(where, s, message);
}
