import type Database from 'better-sqlite3';

/**
 * Schema of the embedded profile. Migrations are append-only: the index of each entry is its
 * version, stored in `PRAGMA user_version`.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE domains (name TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    UNIQUE (owner, name)
  );
  CREATE TABLE messages (
    mailbox_id TEXT NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    internal_date INTEGER NOT NULL,
    flags TEXT NOT NULL,
    delivery_key TEXT,
    PRIMARY KEY (mailbox_id, uid)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX messages_delivery_key ON messages (mailbox_id, delivery_key) WHERE delivery_key IS NOT NULL;
  CREATE TABLE mail_repository (
    repository TEXT NOT NULL,
    key TEXT NOT NULL,
    mail TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (repository, key)
  ) WITHOUT ROWID;
  `,
];

export function migrate(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable against process crashes; FULL also against power loss.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
