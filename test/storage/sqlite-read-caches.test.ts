import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteQuotaStore } from '../../src/storage/sqlite/sqlite-quota-store';
import { SqliteRecipientRewriteTableStore } from '../../src/storage/sqlite/sqlite-rrt-store';
import { SqliteUsersRepository } from '../../src/storage/sqlite/sqlite-users-repository';
import { SqliteVacationStore } from '../../src/storage/sqlite/sqlite-vacation-store';
import type { Vacation } from '../../src/vacation/api/vacation-store';

describe('SQLite adapters answering look-ups from their read cache', () => {
  let dir: string;
  let db: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-read-cache-'));
    db = new Database(path.join(dir, 'postflow.db'));
    migrate(db);
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Counts the rows SQLite reads from then on: a cached answer reads none. */
  function countSelects(): { readonly count: number } {
    const prepared = new Set<string>();
    let count = 0;
    const prepare = db.prepare.bind(db);
    jest.spyOn(db, 'prepare').mockImplementation((sql: string) => {
      const statement = prepare(sql);
      if (!sql.trimStart().startsWith('SELECT') || prepared.has(sql)) return statement;
      prepared.add(sql);
      for (const method of ['get', 'all'] as const) {
        const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
        (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
          count++;
          return original(...args);
        };
      }
      return statement;
    });
    return {
      get count() {
        return count;
      },
    };
  }

  it('users: a known and an unknown user are read once; a write is seen by the next read', async () => {
    const selects = countSelects();
    const users = new SqliteUsersRepository(db);
    await users.upsertUser({ username: 'bob@example.com', passwordHash: 'h1', disabled: false });
    expect(await users.getUser('bob@example.com')).toEqual({ username: 'bob@example.com', passwordHash: 'h1', disabled: false });
    expect(await users.getUser('alice@example.com')).toBeNull();
    const afterFirstReads = selects.count;
    expect(await users.getUser('bob@example.com')).not.toBeNull();
    expect(await users.getUser('alice@example.com')).toBeNull();
    expect(selects.count).toBe(afterFirstReads);

    // An unknown user that is created, a password changed, a user removed: each seen at once.
    await users.upsertUser({ username: 'alice@example.com', passwordHash: 'a', disabled: false });
    expect(await users.getUser('alice@example.com')).toEqual({ username: 'alice@example.com', passwordHash: 'a', disabled: false });
    await users.upsertUser({ username: 'bob@example.com', passwordHash: 'h2', disabled: true });
    expect(await users.getUser('bob@example.com')).toEqual({ username: 'bob@example.com', passwordHash: 'h2', disabled: true });
    await users.removeUser('bob@example.com');
    expect(await users.getUser('bob@example.com')).toBeNull();
  });

  it('users: a caller changing the object it got does not change what the next caller gets', async () => {
    const users = new SqliteUsersRepository(db);
    await users.upsertUser({ username: 'bob@example.com', passwordHash: 'h1', disabled: false });
    const first = await users.getUser('bob@example.com');
    first!.passwordHash = 'tampered';
    first!.disabled = true;
    expect(await users.getUser('bob@example.com')).toEqual({ username: 'bob@example.com', passwordHash: 'h1', disabled: false });
  });

  it('RRT: mappings of an address and of a domain are read once; adding and removing are seen at once', async () => {
    const selects = countSelects();
    const rrt = new SqliteRecipientRewriteTableStore(db);
    expect(await rrt.getMappings('alias@example.com')).toEqual([]);
    expect(await rrt.getMappings('example.com')).toEqual([]);
    const afterFirstReads = selects.count;
    expect(await rrt.getMappings('alias@example.com')).toEqual([]);
    expect(await rrt.getMappings('example.com')).toEqual([]);
    expect(selects.count).toBe(afterFirstReads);

    await rrt.addMapping('alias@example.com', { type: 'Address', value: 'bob@example.com' });
    expect(await rrt.getMappings('alias@example.com')).toEqual([{ type: 'Address', value: 'bob@example.com' }]);
    await rrt.addMapping('alias@example.com', { type: 'Forward', value: 'carol@elsewhere.org' });
    expect(await rrt.getMappings('alias@example.com')).toHaveLength(2);
    await rrt.removeMapping('alias@example.com', { type: 'Address', value: 'bob@example.com' });
    expect(await rrt.getMappings('alias@example.com')).toEqual([{ type: 'Forward', value: 'carol@elsewhere.org' }]);
  });

  it('RRT: a caller changing the list or a mapping it got does not change what the next caller gets', async () => {
    const rrt = new SqliteRecipientRewriteTableStore(db);
    await rrt.addMapping('alias@example.com', { type: 'Address', value: 'bob@example.com' });
    const first = await rrt.getMappings('alias@example.com');
    first[0].value = 'mallory@example.com';
    first.push({ type: 'Error', value: 'nope' });
    expect(await rrt.getMappings('alias@example.com')).toEqual([{ type: 'Address', value: 'bob@example.com' }]);
  });

  it('vacations: a user without one is read once; setting one is seen at once, and copies are handed out', async () => {
    const selects = countSelects();
    const vacations = new SqliteVacationStore(db);
    expect(await vacations.getVacation('bob@example.com')).toBeNull();
    const afterFirstRead = selects.count;
    expect(await vacations.getVacation('bob@example.com')).toBeNull();
    expect(selects.count).toBe(afterFirstRead);

    const vacation: Vacation = { enabled: true, fromDate: null, toDate: null, subject: 'Away', textBody: 'Back soon', htmlBody: null };
    await vacations.setVacation('bob@example.com', vacation);
    const stored = await vacations.getVacation('bob@example.com');
    expect(stored).toEqual(vacation);
    stored!.enabled = false;
    expect((await vacations.getVacation('bob@example.com'))!.enabled).toBe(true);
    await vacations.setVacation('bob@example.com', { ...vacation, enabled: false });
    expect((await vacations.getVacation('bob@example.com'))!.enabled).toBe(false);
  });

  it('quota: the limits of a user are read once; a limit set or removed at any scope is seen at once', async () => {
    const selects = countSelects();
    const quotas = new SqliteQuotaStore(db);
    expect(await quotas.getUserQuota('bob@example.com', 'example.com')).toEqual({ global: {}, domain: {}, user: {}, usage: { count: 0, size: 0 } });
    const afterFirstRead = selects.count;
    await quotas.getUserQuota('bob@example.com', 'example.com');
    // The usage is read every time (it changes with every delivery), the limits are not.
    expect(selects.count).toBe(afterFirstRead + 1);

    await quotas.setLimit('global', '', 'count', 1000);
    await quotas.setLimit('domain', 'example.com', 'size', 5000);
    await quotas.setLimit('user', 'bob@example.com', 'count', 10);
    const quota = await quotas.getUserQuota('bob@example.com', 'example.com');
    expect(quota).toMatchObject({ global: { count: 1000 }, domain: { size: 5000 }, user: { count: 10 } });
    // A caller changing what it got does not change the next answer.
    quota.user.count = 1;
    expect((await quotas.getUserQuota('bob@example.com', 'example.com')).user).toEqual({ count: 10 });
    // A user without a domain sees no domain limit, and a null domain is not the domain ''.
    expect(await quotas.getUserQuota('bob', null)).toMatchObject({ global: { count: 1000 }, domain: {}, user: {} });

    await quotas.setLimit('user', 'bob@example.com', 'count', null);
    await quotas.setLimit('domain', 'example.com', 'size', 7000);
    expect(await quotas.getUserQuota('bob@example.com', 'example.com')).toMatchObject({ global: { count: 1000 }, domain: { size: 7000 }, user: {} });
  });

  it('a write that fails leaves the cached answers right', async () => {
    const users = new SqliteUsersRepository(db);
    await users.upsertUser({ username: 'bob@example.com', passwordHash: 'h1', disabled: false });
    expect(await users.getUser('bob@example.com')).not.toBeNull();
    db.exec("CREATE TRIGGER refuse BEFORE DELETE ON users BEGIN SELECT RAISE(ABORT, 'refused'); END");
    // The SqliteError's text, not toThrow: in a multi-file jest run it can come from another realm.
    const outcome = await users.removeUser('bob@example.com').then(
      () => 'removed',
      (err: unknown) => String(err),
    );
    expect(outcome).toMatch(/refused/);
    expect(await users.getUser('bob@example.com')).toEqual({ username: 'bob@example.com', passwordHash: 'h1', disabled: false });
  });
});
