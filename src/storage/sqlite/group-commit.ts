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
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
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
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}

const queues = new WeakMap<Database.Database, CommitQueue>();

/**
 * Group commit for the writes of one connection: message appends (SqliteMailboxStore) and the
 * small writes of event listeners (search index, quota usage). With
 * `synchronous=FULL` every commit costs an fsync of the WAL, on the main thread: that fsync, not
 * the SQL, is what a per-event transaction spends. Writes queued while the event loop is busy —
 * by any GroupCommit of the same connection — are run in one IMMEDIATE transaction, each in its
 * own savepoint so one failing write fails alone; each promise settles after the commit, so a
 * resolved write is as durable as before.
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
