import Database from 'better-sqlite3';
import type { AppendInput } from '../../src/mailbox/api/mailbox-mapper';
import type { MessageSummary } from '../../src/mime/parsed-message';
import { GroupCommit } from '../../src/storage/sqlite/group-commit';
import { SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { openTestDatabase, type TestDatabase } from '../helpers/store-fixtures';

/** Appends share the connection's group-commit queue with the listeners' writes (search index, quota). */
describe('SQLite mailbox store: appends in the connection group commit', () => {
  let database: TestDatabase;
  let db: Database.Database;
  let reader: Database.Database;
  let store: SqliteMailboxStore;

  beforeEach(async () => {
    database = openTestDatabase('postflow-append-commit-');
    db = database.db;
    reader = new Database(db.name, { readonly: true });
    store = new SqliteMailboxStore(db);
    await store.insertMailbox({ id: 'box', owner: 'a@example.com', name: 'INBOX', uidValidity: 1, role: null });
  });

  afterEach(async () => {
    reader.close();
    await database.cleanup();
  });

  const input = (n: number): AppendInput => ({
    messageId: `m-${n}`,
    threadId: `t-${n}`,
    blobId: `b-${n}`,
    size: 10,
    internalDate: new Date(),
    savedDate: new Date(),
    flags: [],
    content: { headers: Buffer.from('Subject: x\r\n\r\n'), summary: { size: 10 } as unknown as MessageSummary, text: 'x' },
    thread: { owner: 'a@example.com', mimeMessageIds: [], baseSubject: 'x' },
  });
  const listenerWrite = (name: string) => () => void db.prepare('INSERT INTO subscriptions (user, name) VALUES (?, ?)').run('a@example.com', name);

  it('commits appends and listener writes queued in one turn in one transaction, visible once settled', async () => {
    const listener = new GroupCommit(db);
    const alone = listener.transactions;
    await store.append('box', input(0));
    expect(listener.transactions - alone).toBe(1);
    const before = listener.transactions;
    const [first, , second] = await Promise.all([store.append('box', input(1)), listener.run(listenerWrite('Sent')), store.append('box', input(2))]);
    expect(listener.transactions - before).toBe(1);
    expect([first.uid, second.uid]).toEqual([2, 3]);
    expect(reader.prepare('SELECT count(*) FROM messages').pluck().get()).toBe(3);
    expect(reader.prepare('SELECT count(*) FROM subscriptions').pluck().get()).toBe(1);
  });

  it('fails an append to a missing mailbox alone: the writes committed with it stay', async () => {
    const listener = new GroupCommit(db);
    const results = await Promise.allSettled([store.append('missing', input(1)), listener.run(listenerWrite('Sent')), store.append('box', input(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/does not exist/);
    expect(reader.prepare('SELECT message_id FROM messages').pluck().all()).toEqual(['m-2']);
    expect(reader.prepare("SELECT count(*) FROM message_content WHERE message_id = 'm-1'").pluck().get()).toBe(0);
  });
});
