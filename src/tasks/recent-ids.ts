/**
 * Ids seen lately, in the order they were added: an id is kept for `windowMs`, and at most
 * `max` ids are kept (the oldest go first). The clock is injectable for tests.
 */
export class RecentIds {
  private readonly addedAt = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(windowMs > 0) || !Number.isInteger(max) || max < 1) throw new RangeError(`RecentIds needs a positive window and max (got ${windowMs}, ${max})`);
  }

  add(id: string): void {
    const now = this.now();
    this.addedAt.delete(id);
    for (const [old, at] of this.addedAt) {
      if (now - at <= this.windowMs && this.addedAt.size < this.max) break;
      this.addedAt.delete(old);
    }
    this.addedAt.set(id, now);
  }

  /** The ids added within the window, oldest first. */
  list(): string[] {
    const now = this.now();
    const ids: string[] = [];
    for (const [id, at] of this.addedAt) if (now - at <= this.windowMs) ids.push(id);
    return ids;
  }

  get size(): number {
    return this.addedAt.size;
  }
}
