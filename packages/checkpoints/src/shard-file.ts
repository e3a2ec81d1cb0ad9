import { open, type FileHandle } from 'node:fs/promises';
import { RecordBatchReader, type AsyncRecordBatchFileReader, type FixedSizeList } from 'apache-arrow';
import { canonicalJson, CheckpointError, pathExists, sha256 } from '@sgdwalk/core';
import { CHECKPOINT_FILE_BOUNDS, checkCheckpointFile } from './file-bounds.js';
import { checkCheckpointSchema, checkpointFromBatch, type BatchContent } from './checkpoint-batch.js';
import { metaFromSchemaMetadata, type CheckpointMeta } from './meta.js';
import { INDEX_FILE } from './shard-index.js';

const MAGIC = 'ARROW1';

/**
 * One finalized shard opened for random access: only its footer is read on open, then one record batch
 * per read. Reads are queued one at a time because Arrow's file reader seeks a shared position.
 */
export class ShardFile {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    readonly meta: CheckpointMeta,
    readonly numBatches: number,
    /** Floats per state, from the schema's FixedSizeList. */
    readonly stateSize: number,
    private readonly fh: FileHandle,
    private readonly reader: AsyncRecordBatchFileReader,
  ) {}

  static async open(path: string): Promise<ShardFile> {
    let fh: FileHandle;
    // A shard not listed by size (verify's, recovery's) is still refused if a device or FIFO.
    if (await pathExists(path)) await checkCheckpointFile(path, CHECKPOINT_FILE_BOUNDS.shard);
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CheckpointError(code === 'ENOENT' ? 'missing shard file' : `cannot open (${code ?? (e as Error).message})`, path);
    }
    try {
      await checkMagic(fh, path);
      let reader: AsyncRecordBatchFileReader;
      try {
        const r = await RecordBatchReader.from(fh);
        if (!(r.isFile() && r.isAsync())) throw new Error('not in the IPC file format');
        reader = (await r.open({ autoDestroy: false })) as AsyncRecordBatchFileReader;
      } catch (e) {
        throw new CheckpointError(`unreadable Arrow file footer (${(e as Error).message}): truncated or corrupt`, path);
      }
      checkCheckpointSchema(reader.schema, path);
      const meta = metaFromSchemaMetadata(reader.schema.metadata, path);
      const stateSize = (reader.schema.fields[2].type as FixedSizeList).listSize;
      return new ShardFile(path, meta, reader.numRecordBatches, stateSize, fh, reader);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  /** The `index`-th checkpoint of the shard; `step` only labels errors. */
  read(index: number, step: number): Promise<BatchContent> {
    const result = this.queue.then(() => this.readNow(index, step));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async readNow(index: number, step: number): Promise<BatchContent> {
    let batch;
    try {
      batch = await this.reader.readRecordBatch(index);
    } catch (e) {
      throw new CheckpointError(`unreadable record batch #${index} (${(e as Error).message}): file corrupt`, this.path, step);
    }
    if (!batch) throw new CheckpointError(`record batch #${index} is missing (the shard holds ${this.numBatches})`, this.path, step);
    return checkpointFromBatch(batch, this.path, step);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.fh.close().catch(() => undefined);
  }
}

/** An IPC file starts and ends with "ARROW1"; a truncated one has lost its tail. */
async function checkMagic(fh: FileHandle, path: string): Promise<void> {
  const { size } = await fh.stat();
  const head = Buffer.alloc(6);
  const tail = Buffer.alloc(6);
  if (size >= 12) {
    await fh.read(head, 0, 6, 0);
    await fh.read(tail, 0, 6, size - 6);
  }
  if (head.toString('latin1') !== MAGIC) throw new CheckpointError('not an Arrow IPC file', path);
  if (tail.toString('latin1') !== MAGIC) throw new CheckpointError('truncated: the Arrow file has no footer (its end is missing)', path);
}

/**
 * A shard must describe the same run as the index and, when `batches` is given, hold exactly that many
 * checkpoints: a shard copied in from another run (or another layout) fails here, naming itself.
 */
export function checkShardBelongs(shard: ShardFile, meta: CheckpointMeta, batches: number | null): void {
  const m = shard.meta;
  const differs =
    m.runId !== meta.runId ? `its run id is ${m.runId}, the run's is ${meta.runId}`
    : canonicalJson(m.layout) !== canonicalJson(meta.layout) ? `its layout differs from the run's`
    : canonicalJson(m.model) !== canonicalJson(meta.model) ? `its model differs from the run's`
    : shard.stateSize !== meta.layout.totalSize ? `shape does not match the spec: its states have ${shard.stateSize} floats, the layout ${meta.layout.totalSize}`
    : batches !== null && shard.numBatches !== batches ? `it holds ${shard.numBatches} checkpoints, index.json lists ${batches}`
    : null;
  if (differs) throw new CheckpointError(`does not belong to this run: ${differs}`, shard.path);
}

/**
 * The checks every read of one checkpoint makes (the reader's and `verify`'s): the record batch holds the
 * step and epoch index.json records, a state of the layout's size, and the sha256 index.json records —
 * both in its column and of the bytes actually read. Returns that sha256.
 */
export function checkCheckpointContent(
  content: { step: number; epoch: number; state: Float32Array; sha256: string },
  expected: { batch: number; step: number; epoch: number; sha256: string; size: number },
  path: string,
): string {
  const { batch, step, epoch, sha256: recorded, size } = expected;
  const bad = (message: string): never => {
    throw new CheckpointError(message, path, step);
  };
  if (content.step !== step) bad(`record batch #${batch} holds step ${content.step}, ${INDEX_FILE} records step ${step}`);
  if (content.epoch !== epoch) bad(`epoch ${content.epoch} in the shard, ${epoch} in ${INDEX_FILE}`);
  if (content.state.length !== size) bad(`shape does not match the spec: the state has ${content.state.length} floats, the layout ${size}`);
  if (content.sha256 !== recorded) bad(`sha256 column ${content.sha256} differs from ${INDEX_FILE} (${recorded})`);
  const actual = sha256(content.state);
  if (actual !== recorded) bad(`checksum mismatch: the state's sha256 is ${actual}, ${INDEX_FILE} records ${recorded} (file corrupt)`);
  return actual;
}
