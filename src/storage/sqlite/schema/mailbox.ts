import type { SqliteSchemaArea } from '../schema';

/**
 * Mailbox area (see SqliteMailboxStore): counters live in the mailbox row and are updated in the
 * transaction of each change; `messages` is clustered by (mailbox, UID) with indexes for MODSEQ
 * (CHANGEDSINCE) and MessageId (copies of one message); `expunged` answers VANISHED.
 */
export const MAILBOX_SCHEMA: SqliteSchemaArea = {
  name: 'mailbox',
  migrations: [
    `
  CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    unseen_count INTEGER NOT NULL DEFAULT 0,
    total_size INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner, name)
  );
  CREATE TABLE messages (
    mailbox_id TEXT NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    internal_date INTEGER NOT NULL,
    saved_date INTEGER NOT NULL,
    flags TEXT NOT NULL,
    seen INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    delivery_key TEXT,
    PRIMARY KEY (mailbox_id, uid)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX messages_delivery_key ON messages (mailbox_id, delivery_key) WHERE delivery_key IS NOT NULL;
  CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
  CREATE INDEX messages_message_id ON messages (message_id);
  CREATE TABLE message_content (
    message_id TEXT PRIMARY KEY,
    headers BLOB NOT NULL,
    summary TEXT NOT NULL,
    text TEXT NOT NULL
  );
  CREATE TABLE expunged (
    mailbox_id TEXT NOT NULL,
    modseq INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, modseq, uid)
  ) WITHOUT ROWID;
  CREATE TABLE mailbox_acl (
    mailbox_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    rights TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, identifier)
  ) WITHOUT ROWID;
  CREATE INDEX mailbox_acl_identifier ON mailbox_acl (identifier);
  CREATE TABLE mailbox_annotations (
    mailbox_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, key)
  ) WITHOUT ROWID;
  CREATE TABLE subscriptions (
    user TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (user, name)
  ) WITHOUT ROWID;
  CREATE TABLE thread_lookup (
    owner TEXT NOT NULL,
    mime_message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    base_subject TEXT NOT NULL,
    PRIMARY KEY (owner, mime_message_id, thread_id)
  ) WITHOUT ROWID;
    `,
    // 2: thread entries per message (James' layout), so they go with the last copy of their
    // message; the content row remembers the entries to remove. Entries of version 1 carry their
    // thread id as message id and are kept (their message is unknown).
    `
  CREATE TABLE thread_message (
    owner TEXT NOT NULL,
    mime_message_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    base_subject TEXT NOT NULL,
    PRIMARY KEY (owner, mime_message_id, message_id)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO thread_message (owner, mime_message_id, message_id, thread_id, base_subject)
    SELECT owner, mime_message_id, thread_id, thread_id, base_subject FROM thread_lookup;
  DROP TABLE thread_lookup;
  ALTER TABLE message_content ADD COLUMN thread_owner TEXT;
  ALTER TABLE message_content ADD COLUMN thread_ids TEXT;
    `,
    // 3: per-copy header prefix (LocalDelivery's Delivered-To): the content of a message is the
    // prefix then its blob, so the recipients of one mail share the blob. Existing rows: none.
    `
  ALTER TABLE messages ADD COLUMN header_prefix BLOB;
    `,
    // 4: one mailbox per (owner, role). Where older data has several, the oldest (lowest rowid)
    // keeps the role and the others lose it; each cleared role is recorded in
    // mailbox_role_cleared (logged at start-up by logClearedRoles) so nothing vanishes silently.
    `
  CREATE TABLE mailbox_role_cleared (
    mailbox_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    kept_mailbox_id TEXT NOT NULL,
    cleared_at INTEGER NOT NULL,
    logged INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO mailbox_role_cleared (mailbox_id, owner, name, role, kept_mailbox_id, cleared_at)
    SELECT m.id, m.owner, m.name, m.role,
           (SELECT k.id FROM mailboxes k WHERE k.owner = m.owner AND k.role = m.role ORDER BY k.rowid LIMIT 1),
           CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM mailboxes m
    WHERE m.role IS NOT NULL
      AND EXISTS (SELECT 1 FROM mailboxes o WHERE o.owner = m.owner AND o.role = m.role AND o.rowid < m.rowid);
  UPDATE mailboxes SET role = NULL WHERE id IN (SELECT mailbox_id FROM mailbox_role_cleared);
  CREATE UNIQUE INDEX mailboxes_owner_role ON mailboxes (owner, role) WHERE role IS NOT NULL;
    `,
    // 5: the first unseen message of a mailbox (IMAP4rev1 SELECT's UNSEEN) without a scan: the
    // index holds only unseen messages, so it costs nothing for the (many) seen ones.
    `
  CREATE INDEX messages_unseen ON messages (mailbox_id, uid) WHERE seen = 0;
    `,
    // 6: the search text of a message stored once per blob: the copies LocalDelivery makes for a
    // mail's recipients share its blob and so its text (10 recipients wrote the same ~4 KB 10
    // times). A content row naming `text_blob_id` has an empty `text` and reads `blob_text`'s;
    // the text row goes with the last content row naming it. Existing rows keep their own text.
    `
  CREATE TABLE blob_text (
    blob_id TEXT PRIMARY KEY,
    text TEXT NOT NULL
  );
  ALTER TABLE message_content ADD COLUMN text_blob_id TEXT;
  CREATE INDEX message_content_text_blob ON message_content (text_blob_id) WHERE text_blob_id IS NOT NULL;
    `,
    // 7: the summary (JSON, ≈ 1–1.5 KB) stored once per blob too, for the copies that share their
    // text: keyed by that `text_blob_id` and dropped with its text row. A content row sharing it
    // has an empty `summary`. Existing rows keep their own summary.
    `
  CREATE TABLE blob_summary (
    blob_id TEXT PRIMARY KEY,
    summary TEXT NOT NULL
  );
    `,
    // 8: keys ordered so that the copies a mail's recipients get sit side by side. A delivery key
    // starts with the mail's key and a mail's copies share its Message-ID header, so one delivery
    // adds its entries to one leaf page of each index instead of one page per recipient (the
    // mailbox, or the owner, came first): measured 105 → 88 WAL pages per 10-recipient mail
    // (docs/performance.md, stop 22). Lookups give both columns, so either order serves them.
    `
  DROP INDEX messages_delivery_key;
  CREATE UNIQUE INDEX messages_delivery_key ON messages (delivery_key, mailbox_id) WHERE delivery_key IS NOT NULL;
  CREATE TABLE thread_message_by_mime_id (
    owner TEXT NOT NULL,
    mime_message_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    base_subject TEXT NOT NULL,
    PRIMARY KEY (mime_message_id, owner, message_id)
  ) WITHOUT ROWID;
  INSERT INTO thread_message_by_mime_id (owner, mime_message_id, message_id, thread_id, base_subject)
    SELECT owner, mime_message_id, message_id, thread_id, base_subject FROM thread_message;
  DROP TABLE thread_message;
  ALTER TABLE thread_message_by_mime_id RENAME TO thread_message;
    `,
  ],
};
