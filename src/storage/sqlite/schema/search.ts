import type { SqliteSchemaArea } from '../schema';

/**
 * Embedded search index: one row per (mailbox, uid) pointing to one FTS5 document per content
 * (migration 2; before it, the FTS5 table shared the row's rowid). The
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
    // One FTS5 document per content (the message's blob id) instead of per (mailbox, uid): the
    // copies of one mail share it, reference-counted. Existing documents become contents of their
    // own (no key, one reference), so nothing needs reindexing; a reindex replaces them by keyed
    // contents. Per-copy header lines (Delivered-To…) stay with the copy: its row and
    // `search_copy_fts` (rowid = doc_id).
    `
  CREATE TABLE search_contents (
    content_id INTEGER PRIMARY KEY,
    content_key TEXT UNIQUE,
    refs INTEGER NOT NULL
  );
  INSERT INTO search_contents (content_id, content_key, refs) SELECT doc_id, NULL, 1 FROM search_messages;
  ALTER TABLE search_messages ADD COLUMN content_id INTEGER;
  UPDATE search_messages SET content_id = doc_id;
  ALTER TABLE search_messages ADD COLUMN copy_headers TEXT NOT NULL DEFAULT '';
  CREATE INDEX search_messages_content ON search_messages (content_id);
  CREATE VIRTUAL TABLE search_copy_fts USING fts5(headers, tokenize = 'trigram');
    `,
  ],
};
