import { Message, RecordBatchFileWriter, type RecordBatch, type Schema } from 'apache-arrow';

/**
 * An Arrow IPC file writer that hands back each message's bytes synchronously.
 *
 * Arrow's writer pushes its output into an internal async queue that drains only when read; we need a
 * batch's bytes right away, to write and fsync them before append() resolves. `_write` is the one place
 * every byte passes through (a protected member in the writer's published typings), so we take them there.
 * The chunks are views, not copies: a state's bytes go to disk straight from the caller's buffer.
 *
 * Arrow JS also leaves out the schema message after the leading magic (its footer alone carries the
 * schema). We write it, as the IPC file layout in the Arrow spec has it, so an unfinished shard is a
 * readable IPC stream after its 8-byte magic: that is how a crashed shard's complete batches are recovered.
 */
export class ChunkedFileWriter extends RecordBatchFileWriter {
  private chunks: Uint8Array[] = [];

  /** The leading bytes of a file for `schema`: magic, padding, schema message. */
  begin(schema: Schema): Uint8Array[] {
    this.reset(undefined, schema);
    return this.take();
  }

  /** The bytes of one record batch message (metadata and body). */
  add(batch: RecordBatch): Uint8Array[] {
    this.write(batch);
    return this.take();
  }

  /** The trailing bytes: end-of-stream marker, footer (schema and batch offsets), magic. */
  end(): Uint8Array[] {
    this.close();
    return this.take();
  }

  private take(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    return out;
  }

  protected override _write(chunk: unknown): this {
    if (this._started) {
      if (!ArrayBuffer.isView(chunk)) throw new TypeError('ChunkedFileWriter: expected binary chunks');
      if (chunk.byteLength > 0) {
        this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        this._position += chunk.byteLength;
      }
    }
    return this;
  }

  protected override _writeSchema(schema: Schema): this {
    this._writeMagic()._writePadding(2);
    return this._writeMessage(Message.from(schema));
  }
}
