import { constants } from 'node:buffer';
import { CheckpointError, SgdwalkError, checkRegularFile, readBoundedFile, type FileBound } from '@sgdwalk/core';

/**
 * The bounds of the files a checkpoint folder holds, checked by core's bounded reader before a byte is read
 * (issue 23): index.json, a shard or an Arrow table that is a device (`/dev/zero`), a FIFO or a huge file is
 * one CheckpointError naming it, never a read that runs until V8 gives up.
 */
export const CHECKPOINT_FILE_BOUNDS = {
  /** index.json: about 100 bytes per checkpoint, so 64 MiB is over half a million checkpoints. */
  index: { maxBytes: 64 * 2 ** 20, what: 'checkpoint index' },
  /** A shard is read record batch by record batch, never whole: its bound is only a sanity limit. */
  shard: { maxBytes: 2 ** 40, what: 'checkpoint shard' },
  /** A file read whole into memory (a stage table, an unfinished shard): what one Buffer can hold. */
  whole: { maxBytes: constants.MAX_LENGTH, what: 'Arrow file' },
} as const satisfies Record<string, Omit<FileBound, 'code'>>;

/** core's refusal as this package's error class, naming the file once. */
function asCheckpointError(e: unknown, path: string): unknown {
  if (!(e instanceof SgdwalkError) || e instanceof CheckpointError) return e;
  const prefix = `${path}: `;
  return new CheckpointError(e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message, path);
}

export async function checkCheckpointFile(path: string, bound: Omit<FileBound, 'code'>): Promise<number> {
  try {
    return await checkRegularFile(path, { ...bound, code: 'checkpoint' });
  } catch (e) {
    throw asCheckpointError(e, path);
  }
}

export async function readCheckpointFile(path: string, bound: Omit<FileBound, 'code'>): Promise<Buffer> {
  try {
    return await readBoundedFile(path, { ...bound, code: 'checkpoint' });
  } catch (e) {
    throw asCheckpointError(e, path);
  }
}
