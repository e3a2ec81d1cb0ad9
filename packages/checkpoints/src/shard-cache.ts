import { LRUCache } from 'lru-cache';
import type { ShardFile } from './shard-file.js';

interface Entry {
  shard: Promise<ShardFile>;
  users: number;
  evicted: boolean;
}

/**
 * Open shards, least recently used closed first (lru-cache keeps the order and evicts), so a reader
 * walking a long run holds a few file descriptors, not one per shard. A shard in use when evicted is
 * closed when its last read finishes.
 */
export class ShardCache {
  private readonly entries: LRUCache<number, Entry>;
  /** Closes under way, so closeAll can wait for them. */
  private readonly closing = new Set<Promise<void>>();

  constructor(capacity: number) {
    this.entries = new LRUCache<number, Entry>({ max: capacity, dispose: (entry) => this.evict(entry) });
  }

  async use<T>(key: number, open: () => Promise<ShardFile>, fn: (shard: ShardFile) => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      const created: Entry = { shard: open(), users: 0, evicted: false };
      entry = created;
      this.entries.set(key, created);
      // A shard that failed to open is forgotten, so the next read tries again (and reports again).
      created.shard.catch(() => {
        if (this.entries.peek(key) === created) this.entries.delete(key);
      });
    }
    entry.users++;
    try {
      return await fn(await entry.shard);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) this.close(entry);
    }
  }

  /** Close every idle shard now; one still being read closes when its read finishes. */
  async closeAll(): Promise<void> {
    this.entries.clear();
    await Promise.all(this.closing);
  }

  private evict(entry: Entry): void {
    entry.evicted = true;
    if (entry.users === 0) this.close(entry);
  }

  private close(entry: Entry): void {
    const closed = entry.shard.then((s) => s.close()).catch(() => undefined);
    this.closing.add(closed);
    void closed.then(() => this.closing.delete(closed));
  }
}
