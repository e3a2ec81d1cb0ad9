import { open, type FileHandle } from 'node:fs/promises';

/**
 * Write `chunks` at `position` in one gathered write where the OS allows it; a short write (possible near a
 * full disk) continues with what is left rather than leaving a hole. Returns the position after them.
 */
export async function writeChunksAt(fh: FileHandle, chunks: Uint8Array[], position: number): Promise<number> {
  let pending = chunks.filter((c) => c.byteLength > 0);
  // writev takes at most IOV_MAX (1024 on Linux) buffers per call.
  while (pending.length > 0) {
    const batch = pending.slice(0, 1024);
    const total = batch.reduce((n, c) => n + c.byteLength, 0);
    const { bytesWritten } = await fh.writev(batch, position);
    position += bytesWritten;
    if (bytesWritten === total) {
      pending = pending.slice(batch.length);
      continue;
    }
    // Drop what was written, keep the rest of a partly written chunk.
    let skip = bytesWritten;
    let i = 0;
    while (skip >= pending[i].byteLength) skip -= pending[i++].byteLength;
    pending = [pending[i].subarray(skip), ...pending.slice(i + 1)];
  }
  return position;
}

/**
 * fsync a folder so a rename in it survives a power loss, not only a process crash. Some platforms
 * cannot open a folder for syncing; the rename itself is still atomic there, so that failure is ignored.
 */
export async function syncFolder(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort (see above)
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
