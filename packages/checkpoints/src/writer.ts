import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Schema } from 'apache-arrow';
import { canonicalJson, CheckpointError, sha256, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { checkpointBatch, checkpointSchema } from './checkpoint-batch.js';
import { CHECKPOINT_FORMAT_VERSION, layoutDifference, type CheckpointMeta } from './meta.js';
import { PartialShard } from './partial-shard.js';
import { recoverFolder } from './recovery.js';
import { checkShardSize, INDEX_FILE, partialNumberOf, readIndex, shardNumberOf, writeIndex, type CheckpointIndex } from './shard-index.js';

export interface CheckpointWriterOptions {
  /** Checkpoints per shard file (default 64, as the train config's checkpoints.shardSize). */
  shardSize?: number;
  /**
   * Continue a run's checkpoints after a crash: recover the complete checkpoints of an unfinished shard,
   * finalize them, and accept steps after the last one. The meta must match the stored run.
   */
  resume?: boolean;
}

const INT32_MAX = 2 ** 31 - 1;

/**
 * Streams a run's checkpoints into shards of `shardSize` consecutive checkpoints. Each append is on disk
 * (written and fsync'd) when its promise resolves, so a crash loses at most the checkpoint in flight; a
 * full shard is finalized and renamed, then index.json is rewritten atomically. Appends run one at a time
 * in call order even when not awaited.
 */
export class CheckpointWriter {
  private partial: PartialShard | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly meta: CheckpointMeta,
    private readonly schema: Schema,
    private readonly index: CheckpointIndex,
    private readonly shardSize: number,
    private nextShard: number,
  ) {}

  static async create(
    dir: string,
    meta: { runId: string; model: ModelSpec; layout: ParameterLayout },
    opts: CheckpointWriterOptions = {},
  ): Promise<CheckpointWriter> {
    const shardSize = opts.shardSize ?? 64;
    if (!Number.isInteger(shardSize) || shardSize < 1) throw new RangeError(`shardSize must be a positive integer, got ${shardSize}`);
    const full: CheckpointMeta = { formatVersion: CHECKPOINT_FORMAT_VERSION, runId: meta.runId, model: meta.model, layout: meta.layout };
    const schema = checkpointSchema(full);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new CheckpointError(`cannot create the folder (${(e as NodeJS.ErrnoException).code ?? e})`, dir);
    }
    const existing = (await readdir(dir)).filter((n) => n === INDEX_FILE || shardNumberOf(n) !== null || partialNumberOf(n) !== null).sort();

    if (opts.resume && existing.length > 0) {
      const index = await readIndex(dir);
      checkSameRun(index, full, join(dir, INDEX_FILE));
      for (const entry of index.shards) await checkShardSize(dir, entry);
      const nextShard = await recoverFolder(dir, index, schema);
      return new CheckpointWriter(dir, full, schema, index, shardSize, nextShard);
    }
    if (existing.length > 0) {
      // Never mix two runs' checkpoints, nor overwrite finished ones: the caller decides.
      throw new CheckpointError(
        `already holds checkpoints (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}): remove the folder to start over, or resume`,
        dir,
      );
    }
    // The index exists from the start, so an empty run is readable and a crashed one knows its meta.
    const index: CheckpointIndex = { ...full, shards: [] };
    await writeIndex(dir, index);
    return new CheckpointWriter(dir, full, schema, index, shardSize, 0);
  }

  /** Every step stored so far (finalized shards and the shard being written), ascending. */
  get steps(): number[] {
    return [...this.index.shards.flatMap((s) => s.steps), ...(this.partial?.steps ?? [])];
  }

  /**
   * Store `state` as the checkpoint of `step`. Resolves once it is written and fsync'd; the caller may
   * reuse the buffer then. Steps must increase; the state must have layout.totalSize floats.
   */
  append(step: number, epoch: number, state: Float32Array): Promise<void> {
    const run = this.queue.then(() => this.appendNow(step, epoch, state));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Finalize the shard in progress. Idempotent; after a failure it only releases the file. */
  close(): Promise<void> {
    const run = this.queue.then(() => this.closeNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(step: number, epoch: number, state: Float32Array): Promise<void> {
    this.checkUsable(step);
    if (!Number.isInteger(step) || step < 0 || step > INT32_MAX) throw new CheckpointError(`step must be an integer in [0, 2^31), got ${step}`, this.dir, step);
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > INT32_MAX) throw new CheckpointError(`epoch must be an integer in [0, 2^31), got ${epoch}`, this.dir, step);
    const last = this.lastStep();
    if (step <= last) throw new CheckpointError(`steps must increase: step ${step} comes after step ${last}`, this.dir, step);
    const size = this.meta.layout.totalSize;
    if (!(state instanceof Float32Array) || state.length !== size) {
      const got = state instanceof Float32Array ? `${state.length} floats` : `a ${(state as object)?.constructor?.name ?? typeof state}`;
      throw new CheckpointError(`shape does not match the spec: the state has ${got}, the layout ${size}`, this.dir, step);
    }
    try {
      const hash = sha256(state);
      if (!this.partial) this.partial = await PartialShard.create(this.dir, this.nextShard++, this.schema);
      await this.partial.append(checkpointBatch(this.schema, step, epoch, state, hash), step, epoch, hash);
      if (this.partial.count >= this.shardSize) await this.finalizeShard();
    } catch (e) {
      // The shard may now end in a torn batch: stop here and leave it for a resumed writer to recover.
      this.failure = e as Error;
      await this.partial?.abandon();
      throw e;
    }
  }

  private async closeNow(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.failure) {
      await this.partial?.abandon();
      return;
    }
    try {
      if (this.partial && this.partial.count > 0) await this.finalizeShard();
      else await this.partial?.discard();
    } catch (e) {
      this.failure = e as Error;
      await this.partial?.abandon();
      throw e;
    }
  }

  private async finalizeShard(): Promise<void> {
    const entry = await this.partial!.finalize();
    this.partial = null;
    this.index.shards.push(entry);
    await writeIndex(this.dir, this.index);
  }

  private checkUsable(step: number): void {
    if (this.failure) {
      throw new CheckpointError(`the writer stopped after an earlier failure (${this.failure.message}); resume to continue`, this.dir, step);
    }
    if (this.closed) throw new CheckpointError('append after close()', this.dir, step);
  }

  private lastStep(): number {
    return this.partial?.steps.at(-1) ?? this.index.shards.at(-1)?.steps.at(-1) ?? -1;
  }
}

/** A resumed writer must continue the same run: same id, same network, same layout. */
function checkSameRun(stored: CheckpointIndex, meta: CheckpointMeta, file: string): void {
  const layout = layoutDifference(stored.layout, meta.layout);
  if (layout) throw new CheckpointError(`cannot resume: ${layout}`, file);
  if (canonicalJson(stored.model) !== canonicalJson(meta.model)) throw new CheckpointError('cannot resume: the stored model spec differs from this run\'s', file);
  if (stored.runId !== meta.runId) throw new CheckpointError(`cannot resume: the folder holds run ${stored.runId}, not ${meta.runId}`, file);
}
