import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { BlobReferenceSource } from '../../src/blob/api/blob-references';
import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import type { MailboxMapper } from '../../src/mailbox/api/mailbox-mapper';
import { CassandraBlobReferences } from '../../src/storage/cassandra/cassandra-blob-references';
import { CassandraMailboxStore } from '../../src/storage/cassandra/cassandra-mailbox-store';
import { MAILBOX_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteBlobReferences } from '../../src/storage/sqlite/sqlite-blob-references';
import { SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { mailboxFixture, rfc822, type MailboxFixture } from '../contracts/mailbox-store.contract';
import { noCleanup, useCassandraKeyspace } from '../helpers/store-fixtures';

interface Backend {
  mapper: MailboxMapper;
  references: BlobReferenceSource;
  cleanup(): Promise<void>;
}

async function referencedIds(source: BlobReferenceSource): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const batch of source.references()) for (const id of batch) ids.add(id);
  return ids;
}

/**
 * Blob GC sees a blob shared by prefixed copies (one per recipient) as referenced while any copy
 * is left, through each profile's reference source (the `blob_id` column of every message row).
 */
function describeSharedBlobReferences(name: string, open: () => Promise<Backend>): void {
  describe(`blob references of a shared body: ${name}`, () => {
    let backend: Backend;
    let f: MailboxFixture;

    beforeEach(async () => {
      backend = await open();
      f = await mailboxFixture(async () => ({ mapper: backend.mapper, cleanup: backend.cleanup }));
    });

    afterEach(async () => {
      await f?.cleanup();
    });

    it('keeps the shared blob referenced until the last prefixed copy is expunged', async () => {
      const stored = await f.blobs.put(MAIL_BUCKET, rfc822(1));
      const users = ['a@example.com', 'b@example.com', 'c@example.com'];
      const boxes = await Promise.all(users.map((user) => f.manager.ensureMailbox(user, 'INBOX')));
      for (const [i, box] of boxes.entries()) {
        await f.manager.appendMessage(box.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date(), headerPrefix: Buffer.from(`Delivered-To: ${users[i]}\r\n`) });
      }
      expect(await referencedIds(backend.references)).toContain(stored.blobId);
      for (const [i, box] of boxes.entries()) {
        await f.manager.updateFlags(users[i], box.id, [ALL_UIDS], { mode: 'add', flags: ['\\Deleted'] });
        await f.manager.expunge(users[i], box.id);
        const left = await referencedIds(backend.references);
        if (i < boxes.length - 1) expect(left).toContain(stored.blobId);
        else expect(left).not.toContain(stored.blobId);
      }
    });
  });
}

describeSharedBlobReferences('SQLite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-shared-gc-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  return {
    mapper: new SqliteMailboxStore(db),
    references: new SqliteBlobReferences(db),
    async cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('Cassandra', () => {
  const keyspace = useCassandraKeyspace();

  describeSharedBlobReferences('Cassandra', async () => {
    const { session } = keyspace;
    await session.truncate(MAILBOX_TABLES);
    return { mapper: new CassandraMailboxStore(session), references: new CassandraBlobReferences(session), cleanup: noCleanup };
  });
});

describe('SQLite migration of the message rows', () => {
  it('reads rows written before the header prefix column existed as messages without a prefix', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-prefix-migration-'));
    const db = new Database(path.join(dir, 'postflow.db'));
    try {
      migrate(db);
      const columns = db.prepare("SELECT name FROM pragma_table_info('messages')").pluck().all() as string[];
      expect(columns).toContain('header_prefix');
      const f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(db), cleanup: async () => undefined }));
      try {
        const box = await f.manager.ensureMailbox('old@example.com', 'INBOX');
        const stored = await f.blobs.put(MAIL_BUCKET, rfc822(1));
        await f.manager.appendMessage(box.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
        // As a version-2 row: the column did not exist, so it reads NULL.
        expect(db.prepare('SELECT header_prefix FROM messages').pluck().all()).toEqual([null]);
        const [message] = await (async () => {
          const out = [];
          for await (const m of f.manager.getMessages('old@example.com', box.id, [ALL_UIDS], 'full')) out.push(m);
          return out;
        })();
        expect(message.headerPrefix).toBeUndefined();
        expect(message.size).toBe(stored.size);
      } finally {
        await f.cleanup();
      }
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
