import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { FileBlobStore } from '../blob/file/file-blob-store';
import { InProcessEventBus } from '../events/in-process/in-process-event-bus';
import { EventingMailboxStore } from '../mailbox/eventing-mailbox-store';
import type { Backends, HealthCheck } from './backends';
import { migrate } from './sqlite/schema';
import { SqliteDomainList } from './sqlite/sqlite-domain-list';
import { SqliteMailRepositoryStore } from './sqlite/sqlite-mail-repository-store';
import { SqliteMailboxStore } from './sqlite/sqlite-mailbox-store';
import { SqliteUsersRepository } from './sqlite/sqlite-users-repository';

/** Embedded profile: one SQLite database (WAL) and blob files under `dataDir`, in-process events. */
export async function createEmbeddedBackends(options: { dataDir: string; logger: Logger }): Promise<Backends> {
  mkdirSync(options.dataDir, { recursive: true });
  const db = new Database(path.join(options.dataDir, 'postflow.db'));
  migrate(db);
  const blobs = await new FileBlobStore(path.join(options.dataDir, 'blobs')).init();
  const events = new InProcessEventBus(options.logger.child({ component: 'events' }));
  return {
    profile: 'embedded',
    blobs,
    events,
    mailboxes: new EventingMailboxStore(new SqliteMailboxStore(db), events),
    users: new SqliteUsersRepository(db),
    domains: new SqliteDomainList(db),
    mailRepositories: new SqliteMailRepositoryStore(db),
    async checkHealth(): Promise<HealthCheck[]> {
      try {
        db.prepare('SELECT 1').get();
        return [{ componentName: 'SQLite', status: 'healthy', cause: null }];
      } catch (err) {
        return [{ componentName: 'SQLite', status: 'unhealthy', cause: (err as Error).message }];
      }
    },
    async close(): Promise<void> {
      db.close();
    },
  };
}
