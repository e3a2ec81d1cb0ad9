import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { SgdwalkError } from './errors.js';

/** A temporary name beside the target: same folder, so the final rename is atomic on POSIX. */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Write a file so that readers see either the old content or the complete new one, never a half-written
 * file: write a temporary sibling, fsync, rename. A failure (disk full, read-only folder) removes the
 * temporary file and leaves the previous content untouched.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new SgdwalkError(`cannot create folder ${dirname(path)}: ${e.code ?? e.message}`, 'write', { file: path });
  });
  const tmp = temporaryPathFor(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new SgdwalkError(`cannot write ${path}: ${err.code ?? err.message}`, 'write', { file: path });
  }
}
