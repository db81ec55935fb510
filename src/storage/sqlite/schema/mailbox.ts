import type { SqliteSchemaArea } from '../schema';

export const MAILBOX_SCHEMA: SqliteSchemaArea = {
  name: 'mailbox',
  migrations: [
    `
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
    `,
  ],
};
