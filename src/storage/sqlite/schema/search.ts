import type { SqliteSchemaArea } from '../schema';

/**
 * Embedded search index: one row per (mailbox, uid) and an FTS5 table sharing its rowid. The
 * trigram tokenizer answers substring queries (IMAP SEARCH semantics) from the index for strings
 * of 3 characters or more; text is stored lower-cased so LIKE is case-insensitive beyond ASCII.
 */
export const SEARCH_SCHEMA: SqliteSchemaArea = {
  name: 'search',
  migrations: [
    `
  CREATE TABLE search_messages (
    doc_id INTEGER PRIMARY KEY,
    mailbox_id TEXT NOT NULL,
    uid INTEGER NOT NULL,
    owner TEXT NOT NULL,
    message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    mod_seq INTEGER NOT NULL,
    size INTEGER NOT NULL,
    internal_date INTEGER NOT NULL,
    sent_date INTEGER,
    flags TEXT NOT NULL,
    has_attachment INTEGER NOT NULL,
    sort_subject TEXT NOT NULL,
    sort_from TEXT NOT NULL,
    sort_to TEXT NOT NULL,
    sort_cc TEXT NOT NULL,
    sort_display_from TEXT NOT NULL,
    sort_display_to TEXT NOT NULL,
    UNIQUE (mailbox_id, uid)
  );
  CREATE INDEX search_messages_owner ON search_messages (owner);
  CREATE INDEX search_messages_message ON search_messages (message_id);
  CREATE VIRTUAL TABLE search_fts USING fts5(subject, addr_from, addr_to, addr_cc, addr_bcc, headers, body, attachment_names, attachment_text, tokenize = 'trigram');
    `,
  ],
};
