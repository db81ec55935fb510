import type Database from 'better-sqlite3';
import { ACCEPTED_MAILS_SCHEMA } from './schema/accepted-mails';
import { BLOBS_SCHEMA } from './schema/blobs';
import { DOMAINS_SCHEMA } from './schema/domains';
import { EVENTS_SCHEMA } from './schema/events';
import { MAILBOX_SCHEMA } from './schema/mailbox';
import { MAIL_REPOSITORY_SCHEMA } from './schema/mail-repository';
import { RRT_SCHEMA } from './schema/rrt';
import { SEARCH_SCHEMA } from './schema/search';
import { QUOTA_SCHEMA } from './schema/quota';
import { EVENT_STORE_SCHEMA } from './schema/event-store';
import { DELEGATION_SCHEMA, USERS_SCHEMA } from './schema/users';
import { VACATION_SCHEMA } from './schema/vacation';

/**
 * Schema of the embedded profile, one area per port (its own file in `schema/`). Migrations are
 * append-only per area: entry `i` brings the area from version `i` to `i + 1`; the version each
 * area reached is kept in `schema_migrations`.
 */
export interface SqliteSchemaArea {
  name: string;
  migrations: string[];
}

export const SCHEMA_AREAS: readonly SqliteSchemaArea[] = [MAILBOX_SCHEMA, USERS_SCHEMA, DOMAINS_SCHEMA, MAIL_REPOSITORY_SCHEMA, EVENTS_SCHEMA, RRT_SCHEMA, DELEGATION_SCHEMA, SEARCH_SCHEMA, QUOTA_SCHEMA, EVENT_STORE_SCHEMA, VACATION_SCHEMA, BLOBS_SCHEMA, ACCEPTED_MAILS_SCHEMA];

/** WAL pages (4 KB each) after which a COMMIT checkpoints: 16 MB of WAL at most between two checkpoints. */
export const WAL_AUTOCHECKPOINT_PAGES = 4000;

export function migrate(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // FULL: a committed transaction survives an OS crash or power loss, not only a process crash.
  db.pragma('synchronous = FULL');
  // The WAL is copied back into the database (and the database fsynced) inside the COMMIT that
  // crosses this many pages, on the event loop: SQLite's default (1,000 pages, 4 MB) did that
  // every few received mails. A larger WAL is checkpointed less often; a page rewritten many
  // times between two checkpoints (mailbox counters, index pages) is copied once. Durability is
  // unchanged: a transaction is durable once its WAL frames are fsynced at COMMIT.
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (area TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
  const versionOf = db.prepare('SELECT version FROM schema_migrations WHERE area = ?').pluck();
  const setVersion = db.prepare('INSERT INTO schema_migrations (area, version) VALUES (?, ?) ON CONFLICT (area) DO UPDATE SET version = excluded.version');
  for (const area of SCHEMA_AREAS) {
    const current = (versionOf.get(area.name) as number | undefined) ?? 0;
    for (let version = current; version < area.migrations.length; version++) {
      db.transaction(() => {
        db.exec(area.migrations[version]);
        setVersion.run(area.name, version + 1);
      }).immediate();
    }
  }
}
