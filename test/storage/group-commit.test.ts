import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GroupCommit, MAX_GROUP_COMMIT_WRITES } from '../../src/storage/sqlite/group-commit';

describe('GroupCommit', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;
  let reader: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-group-commit-'));
    file = path.join(dir, 'test.db');
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
    reader = new Database(file, { readonly: true });
  });

  afterEach(() => {
    reader.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (k: string, v = 1) => () => void db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(k, v);
  const committed = (): string[] => reader.prepare('SELECT k FROM t ORDER BY k').pluck().all() as string[];

  it('commits the writes of every GroupCommit of one connection, queued in one turn, in one transaction', async () => {
    const search = new GroupCommit(db);
    const quota = new GroupCommit(db);
    const before = search.transactions;
    await Promise.all([search.run(insert('a')), quota.run(insert('b')), search.run(insert('c'))]);
    expect(search.transactions - before).toBe(1);
    expect(quota.transactions).toBe(search.transactions);
    expect(committed()).toEqual(['a', 'b', 'c']);
  });

  it('settles a write only once it is committed (visible to another connection)', async () => {
    const commits = new GroupCommit(db);
    let inTransaction = false;
    await commits.run(() => {
      inTransaction = db.inTransaction;
      insert('a')();
      // Not visible to others before the commit.
      expect(committed()).toEqual([]);
    });
    expect(inTransaction).toBe(true);
    expect(committed()).toEqual(['a']);
  });

  it('fails a failing write alone, whichever GroupCommit queued it, and rolls back only its own statements', async () => {
    const search = new GroupCommit(db);
    const quota = new GroupCommit(db);
    const results = await Promise.allSettled([
      search.run(insert('a')),
      quota.run(() => {
        insert('half')();
        insert('a')(); // primary key conflict: this write fails, its first insert is undone
      }),
      search.run(insert('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(committed()).toEqual(['a', 'b']);
  });

  it('runs each write of a group once, in one transaction, when none fails', async () => {
    const commits = new GroupCommit(db);
    db.exec("INSERT INTO t (k, v) VALUES ('counter', 0)");
    const runs: string[] = [];
    const increment = (name: string) => () => {
      runs.push(name);
      db.prepare("UPDATE t SET v = v + 1 WHERE k = 'counter'").run();
      return name;
    };
    const before = commits.transactions;
    expect(await Promise.all([commits.run(increment('a')), commits.run(increment('b')), commits.run(increment('c'))])).toEqual(['a', 'b', 'c']);
    expect(commits.transactions - before).toBe(1);
    expect(runs).toEqual(['a', 'b', 'c']);
    expect(reader.prepare("SELECT v FROM t WHERE k = 'counter'").pluck().get()).toBe(3);
  });

  it('when a write of a group fails, commits the others exactly once (the rolled-back first run leaves nothing)', async () => {
    const commits = new GroupCommit(db);
    db.exec("INSERT INTO t (k, v) VALUES ('counter', 0)");
    const increment = () => void db.prepare("UPDATE t SET v = v + 1 WHERE k = 'counter'").run();
    const results = await Promise.allSettled([
      commits.run(increment),
      commits.run(() => {
        increment();
        throw new Error('this write fails after a statement');
      }),
      commits.run(increment),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/this write fails/);
    expect(reader.prepare("SELECT v FROM t WHERE k = 'counter'").pluck().get()).toBe(2);
  });

  it('fails a lone failing write with its own error and nothing written', async () => {
    const commits = new GroupCommit(db);
    // The reason is compared as text: a SqliteError may come from another realm than jest's Error.
    const [lone] = await Promise.allSettled([
      commits.run(() => {
        insert('lone')();
        insert('lone')();
      }),
    ]);
    expect(lone.status).toBe('rejected');
    expect(String((lone as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(committed()).toEqual([]);
    await commits.run(insert('after'));
    expect(committed()).toEqual(['after']);
  });

  it('splits a backlog larger than one group into several transactions, in order, all durable', async () => {
    const commits = new GroupCommit(db);
    const before = commits.transactions;
    const count = MAX_GROUP_COMMIT_WRITES * 2 + 3;
    const order: number[] = [];
    await Promise.all(Array.from({ length: count }, (_, i) => commits.run(() => {
      order.push(i);
      insert(`k${String(i).padStart(4, '0')}`, i)();
    })));
    expect(commits.transactions - before).toBe(3);
    expect(order).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(committed()).toHaveLength(count);
  });

  it('rejects every write of a group whose transaction cannot start, and keeps working afterwards', async () => {
    const commits = new GroupCommit(db);
    // Another connection holds the write lock: BEGIN IMMEDIATE fails once the busy timeout passes.
    db.pragma('busy_timeout = 50');
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const results = await Promise.allSettled([commits.run(insert('a')), commits.run(insert('b'))]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await commits.run(insert('c'));
    expect(committed()).toEqual(['c']);
  });

  it('keeps the queues of two connections apart', async () => {
    const otherFile = path.join(dir, 'other.db');
    const otherDb = new Database(otherFile);
    try {
      otherDb.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
      const here = new GroupCommit(db);
      const there = new GroupCommit(otherDb);
      const [h0, t0] = [here.transactions, there.transactions];
      await Promise.all([here.run(insert('a')), there.run(() => void otherDb.prepare("INSERT INTO t (k, v) VALUES ('z', 1)").run())]);
      expect([here.transactions - h0, there.transactions - t0]).toEqual([1, 1]);
      expect(committed()).toEqual(['a']);
      expect(otherDb.prepare('SELECT k FROM t').pluck().all()).toEqual(['z']);
    } finally {
      otherDb.close();
    }
  });
});
