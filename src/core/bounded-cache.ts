/** Entries a BoundedCache keeps at most, by default: the oldest is dropped first past it. */
export const BOUNDED_CACHE_CAPACITY = 10_000;

/**
 * Answers kept by key, at most `capacity` of them (the oldest kept is dropped first), until the
 * owner calls `clear()`.
 *
 * Its users are the SQLite adapters of the embedded profile (users, recipient rewrite table,
 * vacations, quota limits): each empties its cache at each of its own writes. No later read is
 * answered from a stale entry because the SQLite file has one writer, this process, with one
 * adapter of each kind (`createEmbeddedBackends`), writing with blocking calls outside any
 * transaction. The Cassandra adapters have several writers and keep none. It pays on the per-mail
 * path, where each recipient is looked up twice (at RCPT and in the processor graph): ≈ 15–25 µs
 * per SQLite query under load, well under 1 µs for a hit.
 *
 * A kept value is shared by every hit: a user that hands values out hands out copies.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number = BOUNDED_CACHE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`BoundedCache capacity must be a positive integer, got ${capacity}`);
  }

  /** The kept answer for `key`, else `load()`'s, kept (a thrown error is not). */
  get(key: string, load: () => V): V {
    if (this.entries.has(key)) return this.entries.get(key) as V;
    const value = load();
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
    return value;
  }

  /** Forgets every answer. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
