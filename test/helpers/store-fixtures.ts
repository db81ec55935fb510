import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { PostflowConfig } from '../../src/config/schema';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { migrate } from '../../src/storage/sqlite/schema';
import { distributedTestConfig, requireEngines } from './engines';

/**
 * Set-up shared by the adapter test suites: a migrated SQLite file per test, and one Cassandra
 * keyspace per suite (DDL is slow; tests truncate the tables they use instead).
 */

export interface TestDatabase {
  db: Database.Database;
  cleanup(): Promise<void>;
}

/** A fresh, migrated database file in its own temporary folder, removed by `cleanup`. */
export function openTestDatabase(prefix = 'postflow-sqlite-'): TestDatabase {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
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

export interface SuiteKeyspace {
  readonly config: PostflowConfig;
  /** The connected session; valid from the suite's `beforeAll` on. */
  readonly session: CassandraSession;
}

/**
 * Registers `beforeAll`/`afterAll` hooks in the calling describe block (or file): connects to a
 * keyspace of its own on the Cassandra of `scripts/engines.sh`, and drops it afterwards.
 */
export function useCassandraKeyspace(config: PostflowConfig = distributedTestConfig()): SuiteKeyspace {
  let session: CassandraSession | undefined;
  beforeAll(async () => {
    await requireEngines(config, 'cassandra');
    session = await CassandraSession.connect(config.cassandra);
  }, 120_000);
  afterAll(async () => {
    if (!session) return;
    await session.dropKeyspace();
    await session.close();
  }, 60_000);
  return {
    config,
    get session(): CassandraSession {
      if (!session) throw new Error('the Cassandra session is opened in beforeAll: use it inside a hook or a test');
      return session;
    },
  };
}

/** For the `cleanup` of a testee whose tables are truncated before the next test. */
export const noCleanup = async (): Promise<void> => undefined;
