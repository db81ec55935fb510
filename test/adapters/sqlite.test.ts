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

  it('migrates version-7 delivery keys and thread entries to keys that put one mail\'s copies side by side', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-sqlite-'));
    const db = new Database(path.join(dir, 'postflow.db'));
    try {
      db.exec('CREATE TABLE schema_migrations (area TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
      for (const migration of MAILBOX_SCHEMA.migrations.slice(0, 7)) db.exec(migration);
      db.prepare("INSERT INTO schema_migrations (area, version) VALUES ('mailbox', 7)").run();
      const users = ['alice@example.com', 'bob@example.com'];
      const f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(db), cleanup: async () => undefined }));
      try {
        // Before the upgrade: one mail delivered to two users, with delivery keys and a thread.
        const original = await f.blobs.put(MAIL_BUCKET, rfc822(1, { 'Message-ID': '<plans@x>', Subject: 'Plans' }));
        const inboxes = await Promise.all(users.map((user) => f.manager.ensureMailbox(user, 'INBOX')));
        const before = await Promise.all(
          inboxes.map((inbox, i) => f.manager.appendMessage(inbox.id, { blobId: original.blobId, size: original.size, internalDate: new Date(), deliveryKey: `mail-1/${users[i]}` })),
        );
        migrate(db);

        const version = db.prepare("SELECT version FROM schema_migrations WHERE area = 'mailbox'").pluck().get() as number;
        expect(version).toBe(MAILBOX_SCHEMA.migrations.length);
        expect(db.prepare("SELECT name FROM pragma_index_info('messages_delivery_key')").pluck().all()).toEqual(['delivery_key', 'mailbox_id']);
        expect(db.prepare("SELECT name FROM pragma_index_info('sqlite_autoindex_thread_message_1')").pluck().all()).toEqual(['mime_message_id', 'owner', 'message_id']);

        // A retried delivery finds its copies: no second copy.
        for (const [i, inbox] of inboxes.entries()) {
          const again = await f.manager.appendMessage(inbox.id, { blobId: original.blobId, size: original.size, internalDate: new Date(), deliveryKey: `mail-1/${users[i]}` });
          expect(again.uid).toBe(before[i].uid);
          expect((await f.manager.getMailboxById(inbox.id))?.messageCount).toBe(1);
        }
        // The keys are still unique per mailbox, and the same key in another mailbox is another copy.
        expect(() => db.prepare("UPDATE messages SET delivery_key = 'mail-1/bob@example.com' WHERE mailbox_id = ?").run(inboxes[0].id)).not.toThrow();
        const duplicate = db.prepare("INSERT INTO messages (mailbox_id, uid, modseq, message_id, thread_id, blob_id, size, internal_date, saved_date, flags, seen, deleted, delivery_key) SELECT mailbox_id, uid + 100, modseq, message_id, thread_id, blob_id, size, internal_date, saved_date, flags, seen, deleted, delivery_key FROM messages WHERE mailbox_id = ?");
        // The SqliteError's text, not toThrow: in a multi-file jest run it can come from another realm.
        const outcome = (() => {
          try {
            duplicate.run(inboxes[0].id);
            return 'inserted';
          } catch (err) {
            return String(err);
          }
        })();
        expect(outcome).toMatch(/UNIQUE constraint failed/);

        // Each user's reply joins that user's thread of the mail stored before the upgrade.
        const reply = await f.blobs.put(MAIL_BUCKET, rfc822(2, { 'In-Reply-To': '<plans@x>', Subject: 'Re: Plans' }));
        const threadOf = (mailboxId: string, uid: number): string => db.prepare('SELECT thread_id FROM messages WHERE mailbox_id = ? AND uid = ?').pluck().get(mailboxId, uid) as string;
        for (const [i, inbox] of inboxes.entries()) {
          const stored = await f.manager.appendMessage(inbox.id, { blobId: reply.blobId, size: reply.size, internalDate: new Date() });
          expect(threadOf(inbox.id, stored.uid)).toBe(threadOf(inbox.id, before[i].uid));
        }
        expect(threadOf(inboxes[0].id, before[0].uid)).not.toBe(threadOf(inboxes[1].id, before[1].uid));
      } finally {
        await f.cleanup();
      }
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
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
