import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SgdwalkError } from '@sgdwalk/core';

/**
 * One writer per output folder (issue 23): a lock file beside the folder, `.<name>.lock`, holding who
 * writes it (pid, host, since, command). A second writer stops at once with one line naming the folder and
 * the holder; a lock whose holder is dead (same host, pid gone: kill -9, a power cut) is taken over.
 *
 * Why not proper-lockfile: its locks say nothing of their holder (the message must name pid, host and
 * since) and count as stale only after their mtime stops being refreshed (10 s by default), which a
 * killed writer makes every user wait out and a long synchronous training step can trigger in a live one.
 * Here the lock file is created whole and exclusively (written to a unique temporary, then link(2), which
 * fails if the name exists — atomic on local filesystems and NFS), liveness is the kernel's answer for the
 * pid, and a holder on another host is never judged dead (the message says how to remove its lock).
 */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The command that holds it, for the message. */
  command: string;
  /** Distinguishes this holder from a later one with the same pid. */
  token: string;
}

export interface FolderLock {
  /** The lock file. */
  path: string;
  /** Throws if the lock is no longer this process's (taken over in error): checked before the swap. */
  checkHeld(): Promise<void>;
  release(): Promise<void>;
}

/** The lock file of a folder: beside it, so taking it needs no folder the stage has not created. */
export function lockPathOf(folder: string): string {
  return join(dirname(folder), `.${basename(folder)}.lock`);
}

function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on host ${h.host} since ${h.since}${h.command ? ` (${h.command})` : ''}`;
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    if (Number.isInteger(h.pid) && typeof h.host === 'string' && typeof h.token === 'string') return h;
  } catch {
    // Not a lock this code wrote: reported as such below.
  }
  return { pid: -1, host: '?', since: '?', command: '', token: `unreadable:${text.length}` };
}

/** Whether a process of this host is alive: EPERM means it exists under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove a dead holder's lock, and only it: the lock is renamed to a unique name first (atomic), then read;
 * if what was moved is not the dead holder's (a third process took it over in between) it is put back.
 */
async function takeOver(path: string, dead: LockHolder): Promise<void> {
  const moved = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, moved);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // another waiter removed it first
    throw e;
  }
  const got = await readHolder(moved);
  if (got?.token !== dead.token) await link(moved, path).catch(() => undefined);
  await unlink(moved).catch(() => undefined);
}

/**
 * Take the lock of `folder` for this process, or throw a SgdwalkError naming the folder and its holder.
 * `what` says what the folder is ("stage folder", "replay cache").
 */
export async function lockFolder(folder: string, what = 'output folder'): Promise<FolderLock> {
  const path = lockPathOf(folder);
  await mkdir(dirname(path), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new SgdwalkError(`${dirname(path)}: cannot create the folder for ${folder} (${e.code ?? e.message})`, 'write', { file: dirname(path) });
  });
  const me: LockHolder = {
    pid: process.pid, host: hostname(), since: new Date().toISOString(),
    command: ['sgdwalk', ...process.argv.slice(2)].join(' ').slice(0, 200), token: randomBytes(8).toString('hex'),
  };
  const temporary = `${path}.${process.pid}-${me.token}`;
  // A full disk or a read-only folder is the user's to fix: one line naming the lock file.
  const cannotWrite = (e: unknown) =>
    new SgdwalkError(`${path}: cannot write the ${what}'s lock (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'write', { file: path });
  await writeFile(temporary, JSON.stringify(me) + '\n', { flag: 'wx' }).catch(async (e) => {
    await unlink(temporary).catch(() => undefined);
    throw cannotWrite(e);
  });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(temporary, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotWrite(e);
      }
      const holder = await readHolder(path);
      if (holder === undefined) continue; // released between our link and our read: try again
      const dead = holder.host === me.host && holder.pid > 0 && !isAlive(holder.pid);
      if (!dead || attempt >= 8) {
        throw new SgdwalkError(
          `${folder}: another sgdwalk is writing this ${what}: ${describeHolder(holder)}; wait for it to finish, or if that process is gone, remove ${path}`,
          'locked',
          { file: folder },
        );
      }
      await takeOver(path, holder);
    }
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const checkHeld = async () => {
    const holder = await readHolder(path);
    if (holder?.token !== me.token) {
      throw new SgdwalkError(
        `${folder}: this ${what}'s lock was taken by ${holder ? describeHolder(holder) : 'nobody (removed)'} while this process wrote it; nothing was replaced — run the command again`,
        'locked',
        { file: folder },
      );
    }
  };
  return {
    path,
    checkHeld,
    async release() {
      // Only our own lock: one taken over in error belongs to its new holder.
      if ((await readHolder(path))?.token === me.token) await unlink(path).catch(() => undefined);
    },
  };
}

/** Run `body` holding the folder's lock, released however it ends. */
export async function withFolderLock<T>(folder: string, what: string, body: (lock: FolderLock) => Promise<T>): Promise<T> {
  const lock = await lockFolder(folder, what);
  try {
    return await body(lock);
  } finally {
    await lock.release();
  }
}
