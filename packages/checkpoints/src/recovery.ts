import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { canonicalJson, CheckpointError, sha256 } from '@sgdwalk/core';
import { CHECKPOINT_FILE_BOUNDS, readCheckpointFile } from './file-bounds.js';
import { checkCheckpointSchema, checkpointBatch, checkpointFromBatch, type BatchContent } from './checkpoint-batch.js';
import { metaFromSchemaMetadata, type CheckpointMeta } from './meta.js';
import { PartialShard } from './partial-shard.js';
import { checkShardBelongs, ShardFile } from './shard-file.js';
import { INDEX_FILE, partialNumberOf, shardFileName, shardNumberOf, writeIndex, type CheckpointIndex, type ShardEntry } from './shard-index.js';

/** Where a recovered partial is rewritten before it takes its final name; never the only copy of anything. */
const RECOVERING = /^\.shard-\d{6,}\.arrow\.recovering$/;

/**
 * Bring a checkpoint folder left by a crashed writer back to a consistent state, updating `index` and
 * index.json as it goes:
 * - a finalized shard not yet in the index (crash between its rename and the index update) is verified
 *   checkpoint by checkpoint and adopted;
 * - each `.partial` shard gives up its complete, verified record batches (a torn last batch is dropped),
 *   which are rewritten as a finalized shard; then the partial is removed.
 * Every step is safe to interrupt: a crash during recovery leaves a folder the next recovery handles.
 * Returns the number for the next shard.
 */
export async function recoverFolder(dir: string, index: CheckpointIndex, schema: Schema): Promise<number> {
  const names = await readdir(dir);
  for (const name of names.filter((n) => RECOVERING.test(n))) await rm(join(dir, name), { force: true });

  const numbers = index.shards.map((s) => shardNumberOf(s.file)!);
  const listed = new Set(index.shards.map((s) => s.file));
  const strays = names.filter((n) => shardNumberOf(n) !== null && !listed.has(n)).sort(byNumber(shardNumberOf));
  for (const name of strays) {
    const number = shardNumberOf(name)!;
    if (number <= Math.max(-1, ...numbers)) {
      throw new CheckpointError(`not listed in ${INDEX_FILE}, though later shards are: restore the index or remove the file`, join(dir, name));
    }
    index.shards.push(await verifiedEntry(dir, name, index, lastStepOf(index)));
    numbers.push(number);
    await writeIndex(dir, index);
  }

  const partials = names.filter((n) => partialNumberOf(n) !== null).sort(byNumber(partialNumberOf));
  for (const name of partials) {
    const path = join(dir, name);
    const contents = await completeCheckpoints(path, index, lastStepOf(index));
    if (contents.length > 0) {
      const own = partialNumberOf(name)!;
      const number = numbers.includes(own) ? Math.max(...numbers) + 1 : own;
      const shard = await PartialShard.create(dir, number, schema, `.${shardFileName(number)}.recovering`);
      try {
        for (const c of contents) await shard.append(checkpointBatch(schema, c.step, c.epoch, c.state, c.sha256), c.step, c.epoch, c.sha256);
        index.shards.push(await shard.finalize());
      } catch (e) {
        await shard.discard();
        throw e;
      }
      numbers.push(number);
      await writeIndex(dir, index);
    }
    await rm(path, { force: true });
  }
  return Math.max(-1, ...numbers) + 1;
}

function lastStepOf(index: CheckpointIndex): number {
  return index.shards.at(-1)?.steps.at(-1) ?? -Infinity;
}

function byNumber(numberOf: (name: string) => number | null) {
  return (a: string, b: string): number => numberOf(a)! - numberOf(b)!;
}

/** A finalized shard nobody indexed: every checkpoint is read and checked before the run counts it. */
async function verifiedEntry(dir: string, name: string, meta: CheckpointMeta, afterStep: number): Promise<ShardEntry> {
  const path = join(dir, name);
  const shard = await ShardFile.open(path);
  try {
    checkShardBelongs(shard, meta, null);
    const entry: ShardEntry = { file: name, bytes: (await stat(path)).size, steps: [], epochs: [], sha256: [] };
    let last = afterStep;
    for (let i = 0; i < shard.numBatches; i++) {
      const c = await shard.read(i, last);
      checkContent(c, meta, last, path);
      entry.steps.push(c.step);
      entry.epochs.push(c.epoch);
      entry.sha256.push(c.sha256);
      last = c.step;
    }
    if (entry.steps.length === 0) throw new CheckpointError('a finalized shard with no checkpoints', path);
    return entry;
  } finally {
    await shard.close();
  }
}

function checkContent(c: BatchContent, meta: CheckpointMeta, afterStep: number, path: string): void {
  if (!(c.step > afterStep)) throw new CheckpointError(`step ${c.step} does not come after step ${afterStep}`, path, c.step);
  if (c.state.length !== meta.layout.totalSize) {
    throw new CheckpointError(`shape does not match the spec: the state has ${c.state.length} floats, the layout ${meta.layout.totalSize}`, path, c.step);
  }
  if (sha256(c.state) !== c.sha256) throw new CheckpointError('checksum mismatch: the state does not match its sha256 column', path, c.step);
}

/**
 * The complete, intact checkpoints of an unfinished shard, in order, skipping those at or before
 * `afterStep` (already in a finalized shard). An unfinished shard is the IPC stream format after an
 * 8-byte magic; the stream is read message by message until it ends, breaks off (the batch in flight at
 * the crash) or a batch fails its checksum (its bytes never reached the disk): nothing after that counts.
 */
async function completeCheckpoints(path: string, meta: CheckpointMeta, afterStep: number): Promise<BatchContent[]> {
  const bytes = await readCheckpointFile(path, { ...CHECKPOINT_FILE_BOUNDS.whole, what: 'unfinished checkpoint shard' });
  if (bytes.length < 8) return []; // the crash came before even the header was written
  if (bytes.subarray(0, 6).toString('latin1') !== 'ARROW1') throw new CheckpointError('not an unfinished Arrow checkpoint shard', path);
  const batches: RecordBatch[] = [];
  let schema: Schema | null = null;
  try {
    const reader = RecordBatchReader.from(bytes.subarray(8));
    if (!reader.isStream() || !reader.isSync()) return [];
    reader.open();
    schema = reader.schema ?? null;
    for (;;) {
      const next = reader.next();
      if (next.done) break;
      batches.push(next.value);
    }
  } catch {
    // the torn end of the stream: keep what came before it
  }
  if (!schema) return [];
  checkCheckpointSchema(schema, path);
  const stored = metaFromSchemaMetadata(schema.metadata, path);
  if (stored.runId !== meta.runId || canonicalJson(stored.layout) !== canonicalJson(meta.layout)) {
    throw new CheckpointError(`an unfinished shard of another run or layout (run id ${stored.runId})`, path);
  }
  const out: BatchContent[] = [];
  let last = afterStep;
  for (const batch of batches) {
    let c: BatchContent;
    try {
      c = checkpointFromBatch(batch, path);
      if (c.step <= afterStep) continue;
      checkContent(c, meta, last, path);
    } catch {
      break;
    }
    out.push(c);
    last = c.step;
  }
  return out;
}
