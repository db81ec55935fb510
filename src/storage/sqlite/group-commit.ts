import type Database from 'better-sqlite3';

/** Most writes committed in one transaction (bounds how long one commit holds the event loop). */
export const MAX_GROUP_COMMIT_WRITES = 256;

interface PendingWrite {
  work: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const OK = Symbol('ok');

/**
 * The one queue of a database connection: every GroupCommit on the same connection (search
 * index, quota usage…) shares it, so their writes of one event-loop turn share one commit.
 */
class CommitQueue {
  private pending: PendingWrite[] = [];
  private readonly one: (work: () => void) => void;
  /** Transactions committed (or attempted) so far. */
  flushes = 0;

  constructor(private readonly db: Database.Database) {
    this.one = db.transaction((work: () => void) => work());
  }

  run(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ work, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending.splice(0, MAX_GROUP_COMMIT_WRITES);
    if (this.pending.length > 0) setImmediate(() => this.flush());
    if (batch.length === 0) return;
    this.flushes++;
    const outcomes: unknown[] = [];
    try {
      this.db
        .transaction(() => {
          for (const item of batch) {
            try {
              this.one(item.work);
              outcomes.push(OK);
            } catch (error) {
              outcomes.push(error);
            }
          }
        })
        .immediate();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => (outcomes[i] === OK ? item.resolve() : item.reject(outcomes[i])));
  }
}

const queues = new WeakMap<Database.Database, CommitQueue>();

/**
 * Group commit for small writes of event listeners (search index, quota usage). With
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

  /** Runs `work` (synchronous SQL) in the next group transaction. */
  run(work: () => void): Promise<void> {
    return this.queue.run(work);
  }

  /** Group transactions run so far on this connection, by every GroupCommit sharing it. */
  get transactions(): number {
    return this.queue.flushes;
  }
}
