import { open, stat } from 'node:fs/promises';
import { SgdwalkError, type ErrorCode } from './errors.js';

/**
 * Reading a file whose size a user, a config or a queue job controls: refused by type and size before a
 * byte is read, so a device (`/dev/zero`), a FIFO or a huge file is one line naming it, never a read that
 * runs until V8 gives up. Every reader of such a file goes through here; each passes the bound of its own
 * contract (an index.json, a plane file, a safetensors header) and the error code of its stage.
 */
export interface FileBound {
  /** The largest size accepted, in bytes. */
  maxBytes: number;
  /** What the file is, for the message ("checkpoint index", "plane file"). */
  what: string;
  /** The error code of the reader's stage (default 'read'). */
  code?: ErrorCode;
}

function refuse(path: string, bound: FileBound, reason: string): SgdwalkError {
  return new SgdwalkError(`${path}: ${reason}`, bound.code ?? 'read', { file: path });
}

/** The size of a regular file within its bound, or an error naming the file, its type or its size. */
export async function checkRegularFile(path: string, bound: FileBound): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw refuse(path, bound, `cannot read ${bound.what} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  if (!info.isFile()) throw refuse(path, bound, `${bound.what} is not a regular file (${fileKind(info)})`);
  if (info.size > bound.maxBytes) {
    throw refuse(path, bound, `${bound.what} is ${info.size} bytes, over the limit of ${bound.maxBytes}`);
  }
  return info.size;
}

/**
 * The whole content of a regular file within its bound. The size is checked on the open handle too (fstat),
 * and at most maxBytes + 1 bytes are ever read, so a file swapped or grown between the checks still cannot
 * make the read unbounded.
 */
export async function readBoundedFile(path: string, bound: FileBound): Promise<Buffer> {
  await checkRegularFile(path, bound);
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw refuse(path, bound, `cannot read ${bound.what} (${e.code ?? e})`);
  });
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw refuse(path, bound, `${bound.what} is not a regular file (${fileKind(info)})`);
    if (info.size > bound.maxBytes) {
      throw refuse(path, bound, `${bound.what} is ${info.size} bytes, over the limit of ${bound.maxBytes}`);
    }
    const buffer = Buffer.alloc(info.size);
    let filled = 0;
    while (filled < info.size) {
      const { bytesRead } = await fh.read(buffer, filled, info.size - filled, filled);
      if (bytesRead === 0) throw refuse(path, bound, `${bound.what} shrank while it was read`);
      filled += bytesRead;
    }
    return buffer;
  } finally {
    await fh.close();
  }
}

function fileKind(info: { isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'not a plain file';
}
