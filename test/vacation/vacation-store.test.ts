import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NO_VACATION, type Vacation, type VacationStore } from '../../src/vacation/api/vacation-store';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { CassandraVacationStore } from '../../src/storage/cassandra/cassandra-vacation-store';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteVacationStore } from '../../src/storage/sqlite/sqlite-vacation-store';
import { distributedTestConfig, requireEngines } from '../helpers/engines';

/** One contract for the VacationStore port, run on SQLite and on Cassandra (real engine). */
function describeVacationStoreContract(name: string, make: () => Promise<{ store: VacationStore; cleanup(): Promise<void> }>): void {
  describe(`VacationStore on ${name}`, () => {
    let store: VacationStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    const full: Vacation = { enabled: true, fromDate: '2021-09-20T10:00:00Z', toDate: '2021-09-27T18:00:00Z', subject: 'Out', textBody: 'Away — back soon ✈', htmlBody: '<p>Away</p>' };

    it('has no vacation for a user who never set one', async () => {
      expect(await store.getVacation('alice@example.com')).toBeNull();
    });

    it('stores, replaces and resets a vacation, unicode included', async () => {
      await store.setVacation('alice@example.com', full);
      expect(await store.getVacation('alice@example.com')).toEqual(full);
      await store.setVacation('alice@example.com', { ...full, enabled: false, subject: null });
      expect(await store.getVacation('alice@example.com')).toEqual({ ...full, enabled: false, subject: null });
      await store.setVacation('alice@example.com', NO_VACATION);
      expect(await store.getVacation('alice@example.com')).toEqual(NO_VACATION);
      expect(await store.getVacation('bob@example.com')).toBeNull();
    });

    it('remembers answered senders per user until flushed', async () => {
      const now = new Date();
      await store.registerNotification('alice@example.com', 'carol@remote.example', null);
      expect(await store.isNotified('alice@example.com', 'carol@remote.example', now)).toBe(true);
      expect(await store.isNotified('alice@example.com', 'dave@remote.example', now)).toBe(false);
      expect(await store.isNotified('bob@example.com', 'carol@remote.example', now)).toBe(false);
      await store.flushNotifications('alice@example.com');
      expect(await store.isNotified('alice@example.com', 'carol@remote.example', now)).toBe(false);
    });

    it('forgets an answered sender once the vacation ended', async () => {
      await store.registerNotification('alice@example.com', 'carol@remote.example', new Date(Date.now() + 1_000));
      expect(await store.isNotified('alice@example.com', 'carol@remote.example', new Date())).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      expect(await store.isNotified('alice@example.com', 'carol@remote.example', new Date())).toBe(false);
    });

    it('does not record an answer whose vacation already ended', async () => {
      await store.registerNotification('alice@example.com', 'late@remote.example', new Date(Date.now() - 1_000));
      expect(await store.isNotified('alice@example.com', 'late@remote.example', new Date())).toBe(false);
    });
  });
}

describeVacationStoreContract('SQLite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-vacation-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  return {
    store: new SqliteVacationStore(db),
    cleanup: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const config = distributedTestConfig();
let session: CassandraSession | undefined;

afterAll(async () => {
  if (!session) return;
  await session.dropKeyspace();
  await session.close();
}, 60_000);

describeVacationStoreContract('Cassandra', async () => {
  if (!session) {
    await requireEngines(config, 'cassandra');
    session = await CassandraSession.connect(config.cassandra);
  }
  await session.truncate(['vacation', 'vacation_notification_registry']);
  return { store: new CassandraVacationStore(session), cleanup: async () => undefined };
});
