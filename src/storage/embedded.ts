import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { withOptionalEncryption } from '../blob/encryption/encrypting-blob-store';
import { FileBlobStore } from '../blob/file/file-blob-store';
import { SqliteInlineBlobStore } from '../blob/sqlite/sqlite-inline-blob-store';
import { InProcessEventBus } from '../events/in-process/in-process-event-bus';
import type { RetryPolicy } from '../events/retry-policy';
import { StoreMailboxManager } from '../mailbox/store-mailbox-manager';
import { SqliteSearchIndex } from '../search/sqlite-fts/sqlite-search-index';
import type { Backends, HealthCheck } from './backends';
import { migrate } from './sqlite/schema';
import { SqliteAcceptedMailJournal } from './sqlite/sqlite-accepted-mail-journal';
import { SqliteBlobReferences } from './sqlite/sqlite-blob-references';
import { SqliteDelegationStore } from './sqlite/sqlite-delegation-store';
import { SqliteDomainList } from './sqlite/sqlite-domain-list';
import { SqliteEventDeadLetters } from './sqlite/sqlite-event-dead-letters';
import { SqliteMailRepositoryStore } from './sqlite/sqlite-mail-repository-store';
import { logClearedRoles, SqliteMailboxStore } from './sqlite/sqlite-mailbox-store';
import { SqliteQuotaStore } from './sqlite/sqlite-quota-store';
import { SqliteEventStore } from './sqlite/sqlite-event-store';
import { SqliteRecipientRewriteTableStore } from './sqlite/sqlite-rrt-store';
import { SqliteUsersRepository } from './sqlite/sqlite-users-repository';
import { SqliteVacationStore } from './sqlite/sqlite-vacation-store';

/** Embedded profile: one SQLite database (WAL; small blobs too) and larger blobs as files under `dataDir`, in-process events. */
export async function createEmbeddedBackends(options: {
  dataDir: string;
  logger: Logger;
  eventRetry?: RetryPolicy;
  /** `blobStore` configuration (encryption at rest, the inline limit); none: blobs in clear, 64 KiB inline. */
  blobStore?: { encryption: { key?: string }; inlineMaxBytes?: number };
}): Promise<Backends> {
  mkdirSync(options.dataDir, { recursive: true });
  const db = new Database(path.join(options.dataDir, 'postflow.db'));
  migrate(db);
  logClearedRoles(db, options.logger.child({ component: 'mailbox' }));
  const blobFiles = await new FileBlobStore(path.join(options.dataDir, 'blobs')).init();
  const blobs = withOptionalEncryption(new SqliteInlineBlobStore(db, blobFiles, options.blobStore?.inlineMaxBytes), options.blobStore?.encryption ?? {});
  const deadLetters = new SqliteEventDeadLetters(db);
  const events = new InProcessEventBus(options.logger.child({ component: 'events' }), { deadLetters, retry: options.eventRetry });
  return {
    profile: 'embedded',
    blobs,
    blobReferences: new SqliteBlobReferences(db),
    events,
    deadLetters,
    mailboxes: new StoreMailboxManager(new SqliteMailboxStore(db), events, blobs),
    users: new SqliteUsersRepository(db),
    domains: new SqliteDomainList(db),
    rrt: new SqliteRecipientRewriteTableStore(db),
    delegations: new SqliteDelegationStore(db),
    vacation: new SqliteVacationStore(db),
    mailRepositories: new SqliteMailRepositoryStore(db),
    quotas: new SqliteQuotaStore(db),
    eventStore: new SqliteEventStore(db),
    annotations: new SqliteMailboxStore(db),
    search: new SqliteSearchIndex(db),
    acceptedMails: new SqliteAcceptedMailJournal(db),
    async checkHealth(): Promise<HealthCheck[]> {
      try {
        db.prepare('SELECT 1').get();
        return [{ componentName: 'SQLite', status: 'healthy', cause: null }];
      } catch (err) {
        return [{ componentName: 'SQLite', status: 'unhealthy', cause: (err as Error).message }];
      }
    },
    async close(): Promise<void> {
      await events.close();
      db.close();
    },
  };
}
