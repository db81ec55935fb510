import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteDomainList } from '../../src/storage/sqlite/sqlite-domain-list';
import { SqliteMailRepositoryStore } from '../../src/storage/sqlite/sqlite-mail-repository-store';
import { SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { SqliteUsersRepository } from '../../src/storage/sqlite/sqlite-users-repository';
import { describeDomainListContract } from '../contracts/domain-list.contract';
import { describeMailRepositoryStoreContract } from '../contracts/mail-repository-store.contract';
import { describeMailboxStoreContract } from '../contracts/mailbox-store.contract';
import { describeUsersRepositoryContract } from '../contracts/users-repository.contract';

/** A fresh database file in its own temporary folder, removed by cleanup. */
function openDatabase(): { db: Database.Database; cleanup(): Promise<void> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-sqlite-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  return {
    db,
    async cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeMailboxStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { mapper: new SqliteMailboxStore(db), cleanup };
});

describeUsersRepositoryContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { repository: new SqliteUsersRepository(db), cleanup };
});

describeDomainListContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { domains: new SqliteDomainList(db), cleanup };
});

describeMailRepositoryStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { store: new SqliteMailRepositoryStore(db), cleanup };
});
