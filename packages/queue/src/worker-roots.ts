import { realpathSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ConfigError } from '@sgdwalk/core';
import { JobRejected } from './job-schema.js';
import type { PathMap } from './path-map.js';

/**
 * The folders a worker may read: `sgdwalk worker --root DIR` (repeatable), by default the path maps'
 * targets, or else the folder it was started in. Every path a job names (run, data, checkpoint folders, a
 * plane file) is resolved to its real path — `..` and symlinks followed — and must lie inside one of them,
 * or the job fails naming the path and nothing read from it.
 */

/** How the worker hands its roots to its sandboxed children (forked with its environment): JSON. */
export const ROOTS_ENV = 'SGDWALK_WORKER_ROOTS';

/**
 * The roots, each as given (resolved) and as its real path, so a path a job names is recognised in either
 * form; a root that is not an existing folder is a ConfigError naming it.
 */
export function workerRoots(roots: readonly string[], pathMaps: readonly PathMap[], cwd = process.cwd()): string[] {
  const given = roots.length > 0 ? roots.map((r) => resolve(cwd, r)) : pathMaps.length > 0 ? pathMaps.map((m) => m.to) : [cwd];
  return [...new Set(given.flatMap((root) => {
    let real: string;
    try {
      real = realpathSync(root);
    } catch (e) {
      throw new ConfigError(`${root}: cannot use as a root (${(e as NodeJS.ErrnoException).code ?? e})`, undefined, '--root');
    }
    if (!statSync(real).isDirectory()) throw new ConfigError(`${root}: a root must be a folder`, undefined, '--root');
    return [root, real];
  }))];
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of `path`, which a job names as `what`, if it lies inside a root. Checked twice: as
 * written (so a path outside is refused before anything about it is looked up: its existence is not
 * revealed), then as resolved (a symlink inside a root that leads out of every root is refused too).
 */
export async function insideRoots(path: string, roots: readonly string[], what: string): Promise<string> {
  const refuse = (why: string) => new JobRejected(`the job's ${what} ${path} is ${why} the worker's roots (${roots.join(', ')}); start the worker with --root for it if it is meant to be read`, what);
  const written = resolve('/', path);
  if (!roots.some((root) => isInside(written, root))) throw refuse('outside');
  let real: string;
  try {
    real = await realpath(written);
  } catch (e) {
    throw new JobRejected(`the job's ${what} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`, what);
  }
  if (!roots.some((root) => isInside(real, root))) throw refuse('a link leading outside');
  return real;
}
