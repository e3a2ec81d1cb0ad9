import type { ShardFile } from './shard-file.js';

interface Entry {
  shard: Promise<ShardFile>;
  users: number;
  evicted: boolean;
}

/**
 * Open shards, least recently used closed first, so a reader walking a long run holds a few file
 * descriptors, not one per shard. A shard in use when evicted is closed when its last read finishes.
 */
export class ShardCache {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly capacity: number) {}

  async use<T>(key: number, open: () => Promise<ShardFile>, fn: (shard: ShardFile) => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: Map order is the recency order
      this.entries.set(key, entry);
    } else {
      const created: Entry = { shard: open(), users: 0, evicted: false };
      entry = created;
      this.entries.set(key, created);
      // A shard that failed to open is forgotten, so the next read tries again (and reports again).
      created.shard.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      this.evictBeyondCapacity();
    }
    entry.users++;
    try {
      return await fn(await entry.shard);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) void close(entry);
    }
  }

  /** Close every idle shard now; one still being read closes when its read finishes. */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => this.evict(entry)));
  }

  private evictBeyondCapacity(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(key);
      void this.evict(entry);
    }
  }

  private async evict(entry: Entry): Promise<void> {
    entry.evicted = true;
    if (entry.users === 0) await close(entry);
  }
}

function close(entry: Entry): Promise<void> {
  return entry.shard.then((s) => s.close()).catch(() => undefined);
}
