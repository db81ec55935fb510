import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CassandraEventStore } from '../../src/storage/cassandra/cassandra-event-store';
import { CassandraQuotaStore } from '../../src/storage/cassandra/cassandra-quota-store';
import { EVENT_STORE_TABLES, QUOTA_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteEventStore } from '../../src/storage/sqlite/sqlite-event-store';
import { SqliteQuotaStore } from '../../src/storage/sqlite/sqlite-quota-store';
import { describeEventStoreContract } from '../contracts/event-store.contract';
import { describeQuotaStoreContract } from '../contracts/quota.contract';
import { distributedTestConfig, requireEngines } from '../helpers/engines';

function openDatabase(): { db: Database.Database; cleanup(): Promise<void> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-quota-'));
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

describeQuotaStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { store: new SqliteQuotaStore(db), cleanup };
});

describeEventStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { events: new SqliteEventStore(db), cleanup };
});

describe('Cassandra adapters', () => {
  // One keyspace for the file (DDL is slow); each test starts from truncated tables.
  const config = distributedTestConfig();
  let session: CassandraSession;

  beforeAll(async () => {
    await requireEngines(config, 'cassandra');
    session = await CassandraSession.connect(config.cassandra);
  }, 120_000);

  afterAll(async () => {
    if (!session) return;
    // DROP KEYSPACE is idempotent; on a loaded shared Cassandra it can outlast the client timeout once.
    for (let attempt = 1; ; attempt++) {
      try {
        await session.dropKeyspace();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    await session.close();
  }, 120_000);

  const noCleanup = async (): Promise<void> => undefined;

  describeQuotaStoreContract('Cassandra', async () => {
    await session.truncate(QUOTA_TABLES);
    return { store: new CassandraQuotaStore(session), cleanup: noCleanup };
  });

  describeEventStoreContract('Cassandra', async () => {
    await session.truncate(EVENT_STORE_TABLES);
    return { events: new CassandraEventStore(session), cleanup: noCleanup };
  });
});
