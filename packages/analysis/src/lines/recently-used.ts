import { LRUCache } from 'lru-cache';

/**
 * A map that holds at most `capacity` values and drops the least recently used first, handing it to
 * `drop` (to close a reader or a session): what a queue worker keeps between jobs. lru-cache keeps the
 * order and evicts; this adds the get-or-make the users share, and forgets a value that is a promise and
 * rejects, so the next use makes it again (the file may be back by then).
 */
export class RecentlyUsed<K extends {}, V extends {}> {
  private readonly values: LRUCache<K, V>;

  constructor(capacity: number, drop: (value: V) => void = () => {}) {
    this.values = new LRUCache<K, V>({ max: capacity, dispose: (value, _key, reason) => reason === 'evict' && drop(value) });
  }

  /** The value kept for `key`, else the one `make` makes; either way the most recently used from now. */
  get(key: K, make: () => V): V {
    const kept = this.values.get(key);
    if (kept !== undefined) return kept;
    const made = make();
    if (made instanceof Promise) made.catch(() => this.values.peek(key) === made && this.values.delete(key));
    this.values.set(key, made);
    return made;
  }

  /** Every value kept, least recently used first. */
  kept(): V[] {
    return [...this.values.rkeys()].map((key) => this.values.peek(key)!);
  }
}
