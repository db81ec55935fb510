import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { migrate } from '../../src/storage/sqlite/schema';
import { MAILBOX_SCHEMA } from '../../src/storage/sqlite/schema/mailbox';
import { SqliteDomainList } from '../../src/storage/sqlite/sqlite-domain-list';
import { SqliteMailRepositoryStore } from '../../src/storage/sqlite/sqlite-mail-repository-store';
import { SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { SqliteUsersRepository } from '../../src/storage/sqlite/sqlite-users-repository';
import { describeDomainListContract } from '../contracts/domain-list.contract';
import { describeMailRepositoryStoreContract } from '../contracts/mail-repository-store.contract';
import { describeMailboxStoreContract, mailboxFixture, rfc822 } from '../contracts/mailbox-store.contract';
import { describeUsersRepositoryContract } from '../contracts/users-repository.contract';

/** A fresh database file in its own temporary folder, removed by cleanup. */
function openDatabase(): { db: Database.Database; cleanup(): Promise<void> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-sqlite-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  return {
    db,
    async cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeMailboxStoreContract('SQLite', async (options) => {
  const { db, cleanup } = openDatabase();
  return { mapper: new SqliteMailboxStore(db, options), cleanup };
});

describeUsersRepositoryContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { repository: new SqliteUsersRepository(db), cleanup };
});

describeDomainListContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { domains: new SqliteDomainList(db), cleanup };
});

describeMailRepositoryStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { store: new SqliteMailRepositoryStore(db), cleanup };
});

describe('SQLite mailbox store', () => {
  it('deletes the expunge records that fell out of the window instead of keeping them forever', async () => {
    const { db, cleanup } = openDatabase();
    const f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(db, { expungeLogWindow: 5 }), cleanup }));
    try {
      const mailbox = await f.manager.createMailbox('alice@example.com', 'INBOX');
      const stored = await f.blobs.put(MAIL_BUCKET, rfc822(1));
      for (let i = 0; i < 10; i++) await f.manager.append('alice@example.com', mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
      for (let uid = 1; uid <= 10; uid++) {
        await f.manager.updateFlags('alice@example.com', mailbox.id, [{ from: uid, to: uid }], { mode: 'add', flags: ['\\Deleted'] });
        await f.manager.expunge('alice@example.com', mailbox.id);
      }
      const highest = (await f.manager.getMailboxById(mailbox.id))?.highestModSeq as number;
      const rows = db.prepare('SELECT modseq FROM expunged WHERE mailbox_id = ? ORDER BY modseq').pluck().all(mailbox.id) as number[];
      expect(rows.length).toBeLessThanOrEqual(3);
      expect(rows.every((modSeq) => modSeq > highest - 5)).toBe(true);
      expect(await f.manager.expungedSince('alice@example.com', mailbox.id, highest - 5)).toEqual(expect.arrayContaining([10]));
      expect(await f.manager.expungedSince('alice@example.com', mailbox.id, 0)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    } finally {
      await f.cleanup();
    }
  });

  it('migrates version-1 thread entries: a reply to a message stored before the upgrade joins its thread', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-sqlite-'));
    const db = new Database(path.join(dir, 'postflow.db'));
    try {
      db.exec('CREATE TABLE schema_migrations (area TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
      db.exec(MAILBOX_SCHEMA.migrations[0]);
      db.prepare("INSERT INTO schema_migrations (area, version) VALUES ('mailbox', 1)").run();
      db.prepare('INSERT INTO thread_lookup (owner, mime_message_id, thread_id, base_subject) VALUES (?, ?, ?, ?)').run('alice@example.com', 'old@x', 'thread-1', 'plans');
      migrate(db);
      const f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(db), cleanup: async () => undefined }));
      try {
        const mailbox = await f.manager.createMailbox('alice@example.com', 'INBOX');
        const stored = await f.blobs.put(MAIL_BUCKET, rfc822(2, { 'In-Reply-To': '<old@x>', Subject: 'Re: Plans' }));
        const reply = await f.manager.append('alice@example.com', mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
        expect(reply.threadId).toBe('thread-1');
      } finally {
        await f.cleanup();
      }
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
