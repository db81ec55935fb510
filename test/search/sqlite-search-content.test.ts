import path from 'node:path';
import Database from 'better-sqlite3';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { ALL_UIDS, type MessageRecord } from '../../src/mailbox/api/mailbox-store';
import type { IndexedMessage } from '../../src/search/api/search-index';
import type { Criterion } from '../../src/search/api/search-query';
import { withCopyHeaders } from '../../src/search/search-indexer';
import { MAX_CACHED_SEARCHES, SqliteSearchIndex } from '../../src/search/sqlite-fts/sqlite-search-index';
import { migrate } from '../../src/storage/sqlite/schema';
import { SEARCH_SCHEMA } from '../../src/storage/sqlite/schema/search';
import { testDocument } from '../contracts/search-index.contract';
import { eventually, mail, searchStack } from './fixture';

/** Rows of the content tables: how many FTS5 documents exist, and their reference counts. */
function contents(db: Database.Database): { fts: number; refs: Array<number> } {
  return {
    fts: db.prepare('SELECT count(*) FROM search_fts').pluck().get() as number,
    refs: db.prepare('SELECT refs FROM search_contents ORDER BY content_id').pluck().all() as number[],
  };
}

const copyRows = (db: Database.Database): number => db.prepare('SELECT count(*) FROM search_copy_fts').pluck().get() as number;

/** One recipient's copy of a mail delivered to ten: shared content, its own Delivered-To. */
function copyOf(i: number, contentKey = 'blob-1'): IndexedMessage {
  return testDocument({
    mailboxId: `mbx-${i}`,
    uid: 1,
    owner: `user${i}@example.com`,
    contentKey,
    body: 'Quarterly figures are attached',
    headers: [['delivered-to', `user${i}@example.com`], ['subject', 'Weekly report']],
    copyHeaders: [['delivered-to', `user${i}@example.com`]],
  });
}

describe('SQLite FTS5 index: one document per content', () => {
  let db: Database.Database;
  let index: SqliteSearchIndex;
  const all = Array.from({ length: 10 }, (_, i) => `mbx-${i}`);
  const hits = async (criterion: Criterion): Promise<string[]> => (await index.search({ mailboxIds: all, criterion })).map((h) => h.mailboxId).sort();

  beforeEach(() => {
    db = new Database(':memory:');
    migrate(db);
    index = new SqliteSearchIndex(db);
  });

  afterEach(() => db.close());

  it('indexes ten copies of one mail as one FTS5 document referenced ten times', async () => {
    for (let i = 0; i < 10; i++) await index.index([copyOf(i)]);
    expect(contents(db)).toEqual({ fts: 1, refs: [10] });
    expect(db.prepare('SELECT count(*) FROM search_messages').pluck().get()).toBe(10);
    expect(copyRows(db)).toBe(10);
    expect(await hits({ type: 'body', value: 'quarterly figures' })).toHaveLength(10);
    expect(await hits({ type: 'header', field: 'delivered-to', value: 'user7@' })).toEqual(['mbx-7']);
    // The content document does not hold any copy's own header line.
    expect(db.prepare("SELECT count(*) FROM search_fts WHERE headers LIKE '%delivered-to%'").pluck().get()).toBe(0);
  });

  it('counts a redelivered event once: re-indexing a copy does not add a reference', async () => {
    for (let i = 0; i < 10; i++) await index.index([copyOf(i)]);
    await index.index([copyOf(3), copyOf(3)]);
    expect(contents(db)).toEqual({ fts: 1, refs: [10] });
    expect(copyRows(db)).toBe(10);
    expect(await hits({ type: 'header', field: 'delivered-to', value: 'user3@' })).toEqual(['mbx-3']);
  });

  it('keeps the document while one copy is left and deletes it with the last copy', async () => {
    for (let i = 0; i < 10; i++) await index.index([copyOf(i)]);
    for (let i = 0; i < 9; i++) await index.delete(`mbx-${i}`, [1]);
    expect(contents(db)).toEqual({ fts: 1, refs: [1] });
    expect(await hits({ type: 'body', value: 'quarterly' })).toEqual(['mbx-9']);
    await index.delete('mbx-0', [1]);
    expect(contents(db)).toEqual({ fts: 1, refs: [1] });
    await index.delete('mbx-9', [1]);
    expect(contents(db)).toEqual({ fts: 0, refs: [] });
    expect(copyRows(db)).toBe(0);
    expect(await hits({ type: 'body', value: 'quarterly' })).toEqual([]);
  });

  it('releases contents when mailboxes and owners are deleted', async () => {
    for (let i = 0; i < 10; i++) await index.index([copyOf(i), testDocument({ mailboxId: `mbx-${i}`, uid: 2, owner: `user${i}@example.com`, contentKey: `own-${i}` })]);
    expect(contents(db).fts).toBe(11);
    await index.deleteMailbox('mbx-0');
    await index.deleteOwner('user1@example.com');
    expect(contents(db)).toEqual({ fts: 9, refs: [8, 1, 1, 1, 1, 1, 1, 1, 1] });
    for (let i = 2; i < 10; i++) await index.deleteMailbox(`mbx-${i}`);
    expect(contents(db)).toEqual({ fts: 0, refs: [] });
    expect(copyRows(db)).toBe(0);
  });

  it('keeps flags per copy', async () => {
    for (let i = 0; i < 3; i++) await index.index([copyOf(i)]);
    await index.updateFlags('mbx-1', [{ uid: 1, modSeq: 9, flags: ['\\Flagged'] }]);
    expect(await hits({ type: 'flag', flag: '\\flagged', present: true })).toEqual(['mbx-1']);
    expect(await hits({ type: 'flag', flag: '\\flagged', present: false })).toEqual(['mbx-0', 'mbx-2']);
  });

  it('indexes documents without a content key each on their own, and copy headers absent from headers still per copy', async () => {
    await index.index([testDocument({ mailboxId: 'mbx-0', uid: 1 }), testDocument({ mailboxId: 'mbx-0', uid: 2 })]);
    expect(contents(db)).toEqual({ fts: 2, refs: [1, 1] });
    await index.index([testDocument({ mailboxId: 'mbx-1', uid: 1, contentKey: '', copyHeaders: [['x-loop', 'once']] })]);
    expect(await hits({ type: 'header', field: 'x-loop', value: 'once' })).toEqual(['mbx-1']);
    expect(await hits({ type: 'header', field: 'x-loop', value: 'twice' })).toEqual([]);
  });

  it('answers many query shapes correctly past its bound on cached statements', async () => {
    await index.index([copyOf(0)]);
    for (let n = 1; n <= MAX_CACHED_SEARCHES + 20; n++) {
      const criterion: Criterion = { type: 'and', criteria: [{ type: 'body', value: 'figures' }, ...Array.from({ length: n }, () => ({ type: 'all' }) as Criterion)] };
      expect(await hits(criterion)).toEqual(['mbx-0']);
    }
    expect(await hits({ type: 'body', value: 'nothing like it' })).toEqual([]);
  });
});

describe('SQLite FTS5 index: migration of documents indexed per copy', () => {
  it('keeps finding documents indexed before the migration, and a reindex shares their content', async () => {
    const db = new Database(':memory:');
    try {
      // The search area at version 1, with documents written the old way (FTS5 rowid = doc_id).
      db.exec('CREATE TABLE schema_migrations (area TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
      db.exec(SEARCH_SCHEMA.migrations[0]);
      db.prepare("INSERT INTO schema_migrations (area, version) VALUES ('search', 1)").run();
      const legacy = db.prepare(`INSERT INTO search_messages (doc_id, mailbox_id, uid, owner, message_id, thread_id, mod_seq, size, internal_date, sent_date, flags, has_attachment,
        sort_subject, sort_from, sort_to, sort_cc, sort_display_from, sort_display_to) VALUES (?, ?, 1, ?, 'm', 't', 1, 10, 0, NULL, ?, 0, '', '', '', '', '', '')`);
      const legacyFts = db.prepare("INSERT INTO search_fts (rowid, subject, addr_from, addr_to, addr_cc, addr_bcc, headers, body, attachment_names, attachment_text) VALUES (?, 'old', '', '', '', '', ?, 'legacy body text', '', '')");
      for (let i = 1; i <= 3; i++) {
        legacy.run(i, `mbx-${i}`, `user${i}@example.com`, i === 2 ? '\n\\seen\n' : '\n\n');
        legacyFts.run(i, `delivered-to: user${i}@example.com`);
      }

      migrate(db);
      const index = new SqliteSearchIndex(db);
      const mailboxes = ['mbx-1', 'mbx-2', 'mbx-3'];
      const found = async (criterion: Criterion): Promise<string[]> => (await index.search({ mailboxIds: mailboxes, criterion })).map((h) => h.mailboxId).sort();
      expect(contents(db)).toEqual({ fts: 3, refs: [1, 1, 1] });
      expect(await found({ type: 'body', value: 'legacy body' })).toEqual(mailboxes);
      expect(await found({ type: 'header', field: 'delivered-to', value: 'user2' })).toEqual(['mbx-2']);
      expect(await found({ type: 'flag', flag: '\\seen', present: true })).toEqual(['mbx-2']);

      // A user reindex (deleteOwner, then index) rebuilds with shared, keyed contents.
      for (let i = 1; i <= 3; i++) {
        await index.deleteOwner(`user${i}@example.com`);
        await index.index([{ ...copyOf(i, 'blob-legacy'), mailboxId: `mbx-${i}`, body: 'legacy body text' }]);
      }
      expect(contents(db)).toEqual({ fts: 1, refs: [3] });
      expect(await found({ type: 'body', value: 'legacy body' })).toEqual(mailboxes);
      expect(await found({ type: 'header', field: 'delivered-to', value: 'user2' })).toEqual(['mbx-2']);
      // A new content never takes the id of a legacy one still referenced.
      await index.index([testDocument({ mailboxId: 'mbx-9', uid: 1 })]);
      expect(contents(db).fts).toBe(2);
    } finally {
      db.close();
    }
  });
});

describe('search indexer: content key and per-copy header lines', () => {
  const record = { blobId: 'blob-42', headerPrefix: Buffer.from('Delivered-To: carol@example.com\r\nX-Copy: =?UTF-8?B?w6l0w6k=?=\r\n') } as MessageRecord;

  it('keys the document by blob id and lists the prefix lines once, first, as copy headers', () => {
    const doc = withCopyHeaders(testDocument({ mailboxId: 'm', uid: 1, headers: [['delivered-to', 'carol@example.com'], ['subject', 'hi']] }), record);
    expect(doc.contentKey).toBe('blob-42');
    expect(doc.copyHeaders).toEqual([['delivered-to', 'carol@example.com'], ['x-copy', 'été']]);
    expect(doc.headers).toEqual([['delivered-to', 'carol@example.com'], ['x-copy', 'été'], ['subject', 'hi']]);
  });

  it('leaves the headers alone without a prefix, and takes a malformed prefix without failing', () => {
    const plain = withCopyHeaders(testDocument({ mailboxId: 'm', uid: 1 }), { blobId: 'b' } as MessageRecord);
    expect(plain.contentKey).toBe('b');
    expect(plain.copyHeaders).toBeUndefined();
    const odd = withCopyHeaders(testDocument({ mailboxId: 'm', uid: 1 }), { blobId: 'b', headerPrefix: Buffer.from('no colon here\r\n\r\n') } as MessageRecord);
    expect(odd.headers.length).toBeGreaterThanOrEqual(2);
  });

  it('indexes the recipients\' copies of one delivery (one blob, own Delivered-To) as one content, searchable per copy', async () => {
    const stack = await searchStack();
    try {
      const manager = stack.backends.mailboxes;
      const blob = await stack.backends.blobs.put(MAIL_BUCKET, Buffer.from(mail('team news', 'the shared body of the delivery').replace(/\r?\n/g, '\r\n')));
      const inboxes: string[] = [];
      for (const user of ['u1@example.com', 'u2@example.com', 'u3@example.com']) {
        const inbox = await manager.ensureMailbox(user, 'INBOX');
        inboxes.push(inbox.id);
        await manager.appendMessage(inbox.id, { blobId: blob.blobId, size: blob.size, internalDate: new Date(), headerPrefix: Buffer.from(`Delivered-To: ${user}\r\n`) });
      }
      await eventually(async () => (await Promise.all(inboxes.map((id) => stack.index.count(id)))).every((n) => n === 1));
      const db = new Database(path.join(stack.dataDir, 'postflow.db'), { readonly: true });
      try {
        expect(contents(db)).toEqual({ fts: 1, refs: [3] });
      } finally {
        db.close();
      }
      const found = async (criterion: Criterion): Promise<number> => {
        const hits = await stack.index.search({ mailboxIds: inboxes, criterion });
        return hits.length === 1 ? inboxes.indexOf(hits[0].mailboxId) : -hits.length;
      };
      expect(await found({ type: 'header', field: 'Delivered-To', value: 'u2@example.com' })).toBe(1);
      expect(await found({ type: 'text', value: 'u3@example' })).toBe(2);
      expect(await found({ type: 'body', value: 'shared body' })).toBe(-3);
    } finally {
      await stack.cleanup();
    }
  });

  it('indexes a message and its IMAP copy (one blob) as one content, end to end', async () => {
    const stack = await searchStack();
    try {
      const manager = stack.backends.mailboxes;
      const inbox = await manager.ensureMailbox('alice@example.com', 'INBOX');
      const archive = await manager.createMailbox('alice@example.com', 'Projects');
      await stack.deliver(inbox.id, mail('shared', 'one content for two copies'));
      await eventually(async () => (await stack.index.count(inbox.id)) === 1);
      await manager.copyMessages('alice@example.com', inbox.id, [ALL_UIDS], archive.id);
      await eventually(async () => (await stack.index.count(archive.id)) === 1);
      const db = new Database(path.join(stack.dataDir, 'postflow.db'), { readonly: true });
      try {
        expect(contents(db)).toEqual({ fts: 1, refs: [2] });
      } finally {
        db.close();
      }
      const found = await stack.index.search({ mailboxIds: [inbox.id, archive.id], criterion: { type: 'body', value: 'two copies' } });
      expect(found).toHaveLength(2);
    } finally {
      await stack.cleanup();
    }
  });
});
