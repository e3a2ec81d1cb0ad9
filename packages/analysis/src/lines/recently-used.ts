/**
 * A map that holds at most `capacity` values and drops the least recently used first, handing it to
 * `drop` (to close a reader or a session): what a queue worker keeps between jobs. A value that is a
 * promise and rejects is forgotten, so the next use makes it again (the file may be back by then).
 */
export class RecentlyUsed<K, V> {
  private readonly values = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    private readonly drop: (value: V) => void = () => {},
  ) {}

  /** The value kept for `key`, else the one `make` makes; either way the most recently used from now. */
  get(key: K, make: () => V): V {
    let value = this.values.get(key);
    if (value !== undefined) {
      this.values.delete(key);
    } else {
      const made = make();
      value = made;
      if (made instanceof Promise) made.catch(() => this.values.get(key) === made && this.values.delete(key));
    }
    this.values.set(key, value);
    while (this.values.size > this.capacity) {
      const [oldest, old] = this.values.entries().next().value!;
      this.values.delete(oldest);
      this.drop(old);
    }
    return value;
  }

  /** Every value kept, least recently used first. */
  kept(): V[] {
    return [...this.values.values()];
  }
}
