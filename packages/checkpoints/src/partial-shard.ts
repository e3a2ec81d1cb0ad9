import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from '@sgdwalk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import { syncFolder, writeChunksAt } from './durable-io.js';
import { ChunkedFileWriter } from './ipc-file-writer.js';
import { partialFileName, shardFileName, type ShardEntry } from './shard-index.js';

/**
 * The shard being written: `.shard-N.arrow.partial`, each batch written and fsync'd before append()
 * resolves, so a crash loses at most the batch in flight. finalize() adds the footer and renames it to
 * `shard-N.arrow`: a file under its final name is always complete.
 */
export class PartialShard {
  private position = 0;
  readonly steps: number[] = [];
  readonly epochs: number[] = [];
  readonly hashes: string[] = [];

  private constructor(
    readonly dir: string,
    readonly number: number,
    readonly path: string,
    private fh: FileHandle | null,
    private readonly writer: ChunkedFileWriter,
  ) {}

  get finalPath(): string {
    return join(this.dir, shardFileName(this.number));
  }

  get count(): number {
    return this.steps.length;
  }

  /** `tempName` defaults to `.shard-N.arrow.partial`; recovery writes under another name beside that one. */
  static async create(dir: string, number: number, schema: Schema, tempName = partialFileName(number)): Promise<PartialShard> {
    const path = join(dir, tempName);
    let fh: FileHandle;
    try {
      // 'wx': never write over an unfinished shard a crashed run left for recovery.
      fh = await open(path, 'wx');
    } catch (e) {
      throw ioError(e, 'cannot create', path);
    }
    const shard = new PartialShard(dir, number, path, fh, new ChunkedFileWriter());
    try {
      await shard.put(shard.writer.begin(schema), path);
    } catch (e) {
      await shard.discard();
      throw e;
    }
    return shard;
  }

  async append(batch: RecordBatch, step: number, epoch: number, sha256: string): Promise<void> {
    await this.put(this.writer.add(batch), this.path, step);
    this.steps.push(step);
    this.epochs.push(epoch);
    this.hashes.push(sha256);
  }

  /** Footer, fsync, rename to the final name, fsync the folder; returns the entry for index.json. */
  async finalize(): Promise<ShardEntry> {
    await this.put(this.writer.end(), this.path);
    await this.closeHandle();
    try {
      await rename(this.path, this.finalPath);
    } catch (e) {
      throw ioError(e, 'cannot rename to its final name', this.path);
    }
    await syncFolder(this.dir);
    return { file: shardFileName(this.number), bytes: this.position, steps: [...this.steps], epochs: [...this.epochs], sha256: [...this.hashes] };
  }

  /** Close without finalizing (after a failure): the partial stays for a resumed writer to recover. */
  async abandon(): Promise<void> {
    await this.closeHandle().catch(() => undefined);
  }

  /** Finalized with nothing in it: remove instead (an empty shard is no use to anyone). */
  async discard(): Promise<void> {
    await this.closeHandle().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private async put(chunks: Uint8Array[], file: string, step?: number): Promise<void> {
    if (!this.fh) throw new CheckpointError('shard is already closed', file, step);
    try {
      this.position = await writeChunksAt(this.fh, chunks, this.position);
      await this.fh.datasync();
    } catch (e) {
      throw ioError(e, 'cannot write', file, step);
    }
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}

function ioError(e: unknown, what: string, file: string, step?: number): CheckpointError {
  if (e instanceof CheckpointError) return e;
  const err = e as NodeJS.ErrnoException;
  return new CheckpointError(`${what} (${err.code ?? err.message})`, file, step);
}
