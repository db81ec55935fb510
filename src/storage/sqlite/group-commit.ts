import type Database from 'better-sqlite3';

/** Most writes committed in one transaction (bounds how long one commit holds the event loop). */
export const MAX_GROUP_COMMIT_WRITES = 256;
/**
 * While writes arrive concurrently (the last transaction held more than one), the next one waits
 * this long for more: the commit (and its fsync, `synchronous=FULL`) runs on the event loop, so
 * fewer, larger commits leave it free for the rest. A lone write commits in the next turn.
 */
export const GROUP_COMMIT_WINDOW_MS = 2;

interface PendingWrite {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The one queue of a database connection: every GroupCommit on the same connection (search
 * index, quota usage…) shares it, so their writes of one event-loop turn share one commit.
 */
class CommitQueue {
  private pending: PendingWrite[] = [];
  private readonly one: (work: () => unknown) => unknown;
  private lastGroupSize = 0;
  /** Transactions committed (or attempted) so far. */
  flushes = 0;

  constructor(private readonly db: Database.Database) {
    this.one = db.transaction((work: () => unknown) => work());
  }

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1) this.schedule();
    });
  }

  private schedule(): void {
    if (this.lastGroupSize > 1) setTimeout(() => this.flush(), GROUP_COMMIT_WINDOW_MS);
    else setImmediate(() => this.flush());
  }

  private flush(): void {
    const batch = this.pending.splice(0, MAX_GROUP_COMMIT_WRITES);
    if (this.pending.length > 0) setImmediate(() => this.flush());
    if (batch.length === 0) return;
    this.lastGroupSize = batch.length;
    this.flushes++;
    let outcomes: Outcome[];
    try {
      outcomes = this.commitTogether(batch);
    } catch (error) {
      // One write failed (its transaction was rolled back whole), or the commit itself did. A lone
      // write fails with its own error; in a group, each write is run again in its own savepoint,
      // so the failing one fails alone and the others commit.
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      try {
        outcomes = this.commitEachApart(batch);
      } catch (groupError) {
        for (const item of batch) item.reject(groupError);
        return;
      }
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  /**
   * The usual case: every write of the group in one transaction, without savepoints (a savepoint
   * per write copies each page it first touches into a statement journal: about 30 µs per write).
   * Throws, with nothing written, when any write or the commit fails.
   */
  private commitTogether(batch: readonly PendingWrite[]): Outcome[] {
    return this.db
      .transaction(() => batch.map((item): Outcome => ({ ok: true, value: item.work() })))
      .immediate();
  }

  /** Each write in its own savepoint: a failing one is rolled back and reported alone. */
  private commitEachApart(batch: readonly PendingWrite[]): Outcome[] {
    const outcomes: Outcome[] = [];
    this.db
      .transaction(() => {
        for (const item of batch) {
          try {
            outcomes.push({ ok: true, value: this.one(item.work) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      })
      .immediate();
    return outcomes;
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const queues = new WeakMap<Database.Database, CommitQueue>();

/**
 * Group commit for the writes of one connection: message appends (SqliteMailboxStore) and the
 * small writes of event listeners (search index, quota usage). With
 * `synchronous=FULL` every commit costs an fsync of the WAL, on the main thread: that fsync, not
 * the SQL, is what a per-event transaction spends. Writes queued while the event loop is busy —
 * by any GroupCommit of the same connection — are run in one IMMEDIATE transaction; each promise
 * settles after the commit, so a resolved write is as durable as before. When a write of the
 * group throws, the transaction is rolled back and the group runs again with each write in its
 * own savepoint, so the failing write fails alone. A write may therefore run twice: it must be
 * synchronous SQL whose effects are in the database (what it remembers elsewhere must stay right
 * when its first run is rolled back).
 */
export class GroupCommit {
  private readonly queue: CommitQueue;

  constructor(db: Database.Database) {
    let queue = queues.get(db);
    if (!queue) {
      queue = new CommitQueue(db);
      queues.set(db, queue);
    }
    this.queue = queue;
  }

  /** Runs `work` (synchronous SQL) in the next group transaction; resolves with its result once committed. */
  run<T>(work: () => T): Promise<T> {
    return this.queue.run(work);
  }

  /** Group transactions run so far on this connection, by every GroupCommit sharing it. */
  get transactions(): number {
    return this.queue.flushes;
  }
}
