import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../../src/storage/sqlite/schema';
import { StatementCache } from '../../src/storage/sqlite/statement-cache';
import { SqliteDomainList } from '../../src/storage/sqlite/sqlite-domain-list';
import { SqliteRecipientRewriteTableStore } from '../../src/storage/sqlite/sqlite-rrt-store';
import { SqliteUsersRepository } from '../../src/storage/sqlite/sqlite-users-repository';

describe('SQLite statement cache (per-mail look-ups)', () => {
  let dir: string;
  let db: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-stmt-cache-'));
    db = new Database(path.join(dir, 'postflow.db'));
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prepares a statement once and hands back the same one afterwards', () => {
    migrate(db);
    const prepare = jest.spyOn(db, 'prepare');
    const cache = new StatementCache(db);
    const first = cache.get('SELECT 1 FROM domains WHERE name = ?');
    const second = cache.get('SELECT 1 FROM domains WHERE name = ?');
    expect(second).toBe(first);
    expect(prepare).toHaveBeenCalledTimes(1);
    cache.get('SELECT name FROM domains ORDER BY name');
    expect(prepare).toHaveBeenCalledTimes(2);
  });

  it('lets an adapter be built before its schema exists (prepares on first use)', async () => {
    const domains = new SqliteDomainList(db);
    migrate(db);
    await domains.addDomain('example.com');
    expect(await domains.containsDomain('EXAMPLE.com')).toBe(true);
  });

  it('does not cache a statement that failed to prepare, and reports the SQL error each time', () => {
    const cache = new StatementCache(db);
    expect(() => cache.get('SELECT nope FROM missing_table')).toThrow(/no such table/);
    db.exec('CREATE TABLE missing_table (nope TEXT)');
    expect(cache.get('SELECT nope FROM missing_table').all()).toEqual([]);
  });

  it('answers users, domains and RRT look-ups of many mails without preparing again', async () => {
    migrate(db);
    const users = new SqliteUsersRepository(db);
    const domains = new SqliteDomainList(db);
    const rrt = new SqliteRecipientRewriteTableStore(db);
    await users.upsertUser({ username: 'bob@example.com', passwordHash: 'h', disabled: false });
    await domains.addDomain('example.com');
    await rrt.addMapping('alias@example.com', { type: 'Address', value: 'bob@example.com' });
    const prepare = jest.spyOn(db, 'prepare');
    for (let i = 0; i < 50; i++) {
      expect((await users.getUser('bob@example.com'))?.username).toBe('bob@example.com');
      expect(await users.getUser(`nobody${i}@example.com`)).toBeNull();
      expect(await domains.containsDomain('example.com')).toBe(true);
      expect(await domains.containsDomain(`other${i}.test`)).toBe(false);
      expect(await rrt.getMappings('alias@example.com')).toEqual([{ type: 'Address', value: 'bob@example.com' }]);
      expect(await rrt.getMappings(`none${i}@example.com`)).toEqual([]);
    }
    expect(prepare).toHaveBeenCalledTimes(3);
  });

  it('keeps pluck-mode statements apart from row statements of the same adapter', async () => {
    migrate(db);
    const rrt = new SqliteRecipientRewriteTableStore(db);
    await rrt.addMapping('a@example.com', { type: 'Address', value: 'b@example.com' });
    expect(await rrt.listSources({ type: 'Address', value: 'b@example.com' })).toEqual(['a@example.com']);
    expect(await rrt.listAll()).toEqual([{ source: 'a@example.com', mappings: [{ type: 'Address', value: 'b@example.com' }] }]);
    expect(await rrt.getMappings('a@example.com')).toEqual([{ type: 'Address', value: 'b@example.com' }]);
  });
});
