import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { CheckpointError, temporaryPathFor, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { INDEX_FILE } from './shard-index.js';
import { CheckpointWriter } from './writer.js';

/** One cached checkpoint: an ordinary checkpoint folder (index.json + one shard) holding one state. */
export interface CachedCheckpoint {
  /** The folder to open with CheckpointReader. */
  dir: string;
  sha256: string;
  bytes: number;
}

/** The default bound of a cache folder: 4 GiB. */
export const DEFAULT_CACHE_BYTES = 4 * 1024 ** 3;

const ENTRY_NAME = /^[0-9a-f]{64}$/;

/**
 * A content-addressed, size-bounded folder of checkpoints (states replayed from a run's anchors). Each
 * entry is the folder `<sha256 of the state>/`, itself an ordinary checkpoint store of one checkpoint, so
 * anything that reads checkpoints by path reads it with the checkpoint reader, which checks the state
 * against that sha256. The folder holds at most `maxBytes`: adding an entry first removes the least
 * recently used ones (recency is the entry folder's mtime, renewed by `get`), never one of `pinned`
 * (those the caller is about to read). An entry is written in a dot-named staging folder and renamed
 * into place, so a crash never leaves half an entry, and two processes adding the same state agree.
 * In memory, lru-cache holds the entries' sizes in recency order; the eviction is chosen here, since
 * lru-cache can neither skip pinned entries nor refuse an entry that cannot fit beside them.
 */
export class MaterializedCache {
  /**
   * Entry sizes by sha256 in recency order, and their total. Unbounded as lru-cache sees it: folders found
   * over the bound on open stay listed until a put removes them, as on disk.
   */
  private readonly entries: LRUCache<string, number>;
  /** The latest use recorded (ms), so the entry folders' mtimes keep the recency order on disk too. */
  private lastUse = 0;

  /** Whether a folder's entries (its names, dot-names left out) are those of a replay cache: only sha256-named entries. */
  static isCacheListing(names: readonly string[]): boolean {
    return names.length > 0 && names.every((name) => ENTRY_NAME.test(name));
  }

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    found: Array<{ sha256: string; bytes: number; lastUsed: number }>,
  ) {
    this.entries = new LRUCache<string, number>({ maxSize: Number.MAX_SAFE_INTEGER, sizeCalculation: (bytes) => bytes });
    for (const entry of found.sort((a, b) => a.lastUsed - b.lastUsed || (a.sha256 < b.sha256 ? -1 : 1))) {
      this.entries.set(entry.sha256, entry.bytes);
      this.lastUse = Math.max(this.lastUse, entry.lastUsed);
    }
  }

  static async open(dir: string, maxBytes = DEFAULT_CACHE_BYTES): Promise<MaterializedCache> {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new CheckpointError(`cannot create the cache folder (${(e as NodeJS.ErrnoException).code ?? e})`, dir);
    }
    const found: Array<{ sha256: string; bytes: number; lastUsed: number }> = [];
    for (const name of await readdir(dir)) {
      if (name.startsWith('.')) {
        // A staging folder left by a crashed writer: never an entry.
        await rm(join(dir, name), { recursive: true, force: true });
        continue;
      }
      if (!ENTRY_NAME.test(name)) continue;
      const entry = await measureEntry(join(dir, name));
      if (entry) found.push({ sha256: name, ...entry });
    }
    return new MaterializedCache(dir, maxBytes, found);
  }

  /** Bytes held by all entries. */
  get totalBytes(): number {
    return this.entries.calculatedSize;
  }

  /** Entries, least recently used first. */
  list(): CachedCheckpoint[] {
    return [...this.entries.rkeys()].map((sha256) => ({ dir: join(this.dir, sha256), sha256, bytes: this.entries.peek(sha256)! }));
  }

  /** The entry holding the state of this sha256, marked as just used; null when not cached. */
  async get(sha256: string): Promise<CachedCheckpoint | null> {
    const bytes = this.entries.get(sha256);
    if (bytes === undefined) return null;
    const dir = join(this.dir, sha256);
    const lastUsed = this.nextUseTime();
    try {
      await utimes(dir, lastUsed / 1000, lastUsed / 1000);
    } catch {
      // Removed by another process since: not cached.
      this.entries.delete(sha256);
      return null;
    }
    return { dir, sha256, bytes };
  }

  /**
   * Store `state` (whose sha256 the caller has checked) as the checkpoint of `step`, evicting least
   * recently used entries other than `pinned` to stay within the bound. An entry that cannot fit
   * beside the pinned ones is an error naming the bound.
   */
  async put(
    meta: { runId: string; model: ModelSpec; layout: ParameterLayout },
    checkpoint: { step: number; epoch: number; state: Float32Array; sha256: string },
    pinned: ReadonlySet<string> = new Set(),
  ): Promise<CachedCheckpoint> {
    const known = await this.get(checkpoint.sha256);
    if (known) return known;
    const target = join(this.dir, checkpoint.sha256);
    const staging = temporaryPathFor(target);
    try {
      const writer = await CheckpointWriter.create(staging, meta, { shardSize: 1 });
      await writer.append(checkpoint.step, checkpoint.epoch, checkpoint.state);
      await writer.close();
      const measured = (await measureEntry(staging))!;
      this.makeRoom(measured.bytes, new Set([...pinned, checkpoint.sha256]), target);
      await this.evictPending();
      try {
        await rename(staging, target);
      } catch (e) {
        // Another process stored the same state first: same content, keep theirs.
        if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        await rm(staging, { recursive: true, force: true });
      }
      const lastUsed = this.nextUseTime();
      await utimes(target, lastUsed / 1000, lastUsed / 1000).catch(() => undefined);
      this.entries.set(checkpoint.sha256, measured.bytes);
      return { dir: target, sha256: checkpoint.sha256, bytes: measured.bytes };
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  private pendingEvictions: string[] = [];

  /** Now, in ms, but after every recorded use: two uses in one millisecond keep their order on disk too. */
  private nextUseTime(): number {
    this.lastUse = Math.max(Date.now(), Math.floor(this.lastUse) + 1);
    return this.lastUse;
  }

  /** Choose least recently used unpinned entries to remove until `bytes` more fit within the bound. */
  private makeRoom(bytes: number, pinned: ReadonlySet<string>, target: string): void {
    let total = this.totalBytes;
    const victims: string[] = [];
    for (const { sha256, bytes: size } of this.list()) {
      if (total + bytes <= this.maxBytes) break;
      if (pinned.has(sha256)) continue;
      victims.push(sha256);
      total -= size;
    }
    if (total + bytes > this.maxBytes) {
      throw new CheckpointError(
        `the cache is bounded to ${this.maxBytes} bytes, but the checkpoints needed at once take ${total + bytes} (${bytes} bytes each): raise the bound (analyze.replay.maxBytes, --cache-max-bytes) or ask for fewer steps`,
        target,
      );
    }
    for (const sha256 of victims) this.entries.delete(sha256);
    this.pendingEvictions.push(...victims);
  }

  private async evictPending(): Promise<void> {
    for (const sha256 of this.pendingEvictions.splice(0)) await rm(join(this.dir, sha256), { recursive: true, force: true });
  }
}

/** An entry's size in bytes and its last use, or null when the folder is not a complete entry. */
async function measureEntry(dir: string): Promise<{ bytes: number; lastUsed: number } | null> {
  try {
    const names = await readdir(dir);
    if (!names.includes(INDEX_FILE)) return null;
    let bytes = 0;
    for (const name of names) bytes += (await stat(join(dir, name))).size;
    return { bytes, lastUsed: (await stat(dir)).mtimeMs };
  } catch {
    return null;
  }
}
