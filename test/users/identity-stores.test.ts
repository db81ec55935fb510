import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CassandraDelegationStore } from '../../src/storage/cassandra/cassandra-delegation-store';
import { CassandraRecipientRewriteTableStore } from '../../src/storage/cassandra/cassandra-rrt-store';
import { DELEGATION_TABLES, RRT_TABLES, USER_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { CassandraUsersRepository } from '../../src/storage/cassandra/cassandra-users-repository';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteDelegationStore } from '../../src/storage/sqlite/sqlite-delegation-store';
import { SqliteRecipientRewriteTableStore } from '../../src/storage/sqlite/sqlite-rrt-store';
import { SqliteUsersRepository } from '../../src/storage/sqlite/sqlite-users-repository';
import type { UsersRepository } from '../../src/users/api/users-repository';
import { LocalUserDirectory } from '../../src/users/local-user-directory';
import { describeDelegationStoreContract } from '../contracts/delegation-store.contract';
import { describeRrtStoreContract } from '../contracts/rrt-store.contract';
import { describeUserDirectoryContract } from '../contracts/users-directory.contract';
import { distributedTestConfig, requireEngines } from '../helpers/engines';

// The stores of users, delegation and recipient rewriting: every contract on SQLite and on Cassandra.

function openDatabase(): { db: Database.Database; cleanup(): Promise<void> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-identity-'));
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

function localDirectoryTestee(users: UsersRepository, cleanup: () => Promise<void>) {
  const directory = new LocalUserDirectory(users);
  return {
    directory,
    async seed(accounts: Array<{ username: string; password: string }>) {
      for (const { username, password } of accounts) await directory.setPassword(username, password);
    },
    cleanup,
  };
}

describeRrtStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { store: new SqliteRecipientRewriteTableStore(db), cleanup };
});

describeDelegationStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { store: new SqliteDelegationStore(db), cleanup };
});

describeUserDirectoryContract('local directory on SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return localDirectoryTestee(new SqliteUsersRepository(db), cleanup);
});

describe('on Cassandra', () => {
  const config = distributedTestConfig();
  let session: CassandraSession;
  const noCleanup = async (): Promise<void> => undefined;

  beforeAll(async () => {
    await requireEngines(config, 'cassandra');
    session = await CassandraSession.connect(config.cassandra);
  }, 120_000);

  afterAll(async () => {
    if (!session) return;
    await session.dropKeyspace();
    await session.close();
  }, 60_000);

  describeRrtStoreContract('Cassandra', async () => {
    await session.truncate(RRT_TABLES);
    return { store: new CassandraRecipientRewriteTableStore(session), cleanup: noCleanup };
  });

  describeDelegationStoreContract('Cassandra', async () => {
    await session.truncate(DELEGATION_TABLES);
    return { store: new CassandraDelegationStore(session), cleanup: noCleanup };
  });

  describeUserDirectoryContract('local directory on Cassandra', async () => {
    await session.truncate(USER_TABLES);
    return localDirectoryTestee(new CassandraUsersRepository(session), noCleanup);
  });
});
