import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { TemporaryError } from '../../src/core/errors';
import { FirstUnseenIndex } from '../../src/storage/cassandra/cassandra-first-unseen';
import { CassandraMailboxStore } from '../../src/storage/cassandra/cassandra-mailbox-store';
import { MAILBOX_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { MAILBOX_SCHEMA } from '../../src/storage/cassandra/schema/mailbox';
import { mailboxFixture, rfc822, type MailboxFixture } from '../contracts/mailbox-store.contract';
import { noCleanup, useCassandraKeyspace } from '../helpers/store-fixtures';

// Its own keyspace: one test drops the index table and reruns the migration.
const keyspace = useCassandraKeyspace();
const alice = 'alice@example.com';
let f: MailboxFixture;
let store: CassandraMailboxStore;

beforeEach(async () => {
  await keyspace.session.truncate(MAILBOX_TABLES);
  store = new CassandraMailboxStore(keyspace.session);
  f = await mailboxFixture(async () => ({ mapper: store, cleanup: noCleanup }));
}, 60_000);

afterEach(async () => {
  await f?.cleanup();
});

async function appendTo(mailboxId: string, count: number, flags: string[] = []): Promise<number[]> {
  const stored = await f.blobs.put(MAIL_BUCKET, rfc822(1));
  const uids: number[] = [];
  for (let i = 0; i < count; i++) uids.push((await f.manager.append(alice, mailboxId, { blobId: stored.blobId, size: stored.size, internalDate: new Date(), flags })).uid);
  return uids;
}

async function indexRows(mailboxId: string): Promise<number[]> {
  const rows = (await keyspace.session.execute(`SELECT uid FROM ${keyspace.session.table('message_first_unseen')} WHERE mailbox_id = ?`, [mailboxId])).rows;
  return rows.map((row) => Number(row.get('uid')));
}

/** Holds the first client call that `matches` until `release` is called; `reached` resolves when it is held. */
function holdClientCall(method: 'batch' | 'execute', matches: (query: string) => boolean): { reached: Promise<void>; release(): void; restore(): void } {
  const client = keyspace.session.client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = client[method];
  let armed = true;
  let onReached!: () => void;
  let onRelease!: () => void;
  const reached = new Promise<void>((resolve) => (onReached = resolve));
  const released = new Promise<void>((resolve) => (onRelease = resolve));
  client[method] = async function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : Array.isArray(first) ? first.map((s: { query: string }) => s.query).join(';') : '';
    if (armed && matches(text)) {
      armed = false;
      onReached();
      await released;
    }
    return original.apply(this, args);
  };
  return { reached, release: onRelease, restore: () => (client[method] = original) };
}

describe('Cassandra first-unseen index', () => {
  it('answers from the index only: one row per unseen message, removed as the message is seen or expunged', async () => {
    const mailbox = await f.manager.createMailbox(alice, 'INBOX');
    await appendTo(mailbox.id, 3, ['\\Seen']);
    await appendTo(mailbox.id, 2);
    expect(await indexRows(mailbox.id)).toEqual([4, 5]);
    expect(await f.manager.firstUnseenUid(mailbox.id)).toBe(4);
    await f.manager.updateFlags(alice, mailbox.id, [{ from: 4, to: 4 }], { mode: 'add', flags: ['\\Seen', '\\Deleted'] });
    await f.manager.updateFlags(alice, mailbox.id, [{ from: 5, to: 5 }], { mode: 'add', flags: ['\\Deleted'] });
    await f.manager.expunge(alice, mailbox.id);
    expect(await indexRows(mailbox.id)).toEqual([]);
    // Without its index row an unseen message is not found: the mailbox is not scanned.
    await appendTo(mailbox.id, 1);
    await keyspace.session.truncate(['message_first_unseen']);
    expect(await f.manager.firstUnseenUid(mailbox.id)).toBeNull();
  });

  it('skips a stale index row whose message is seen or gone', async () => {
    const mailbox = await f.manager.createMailbox(alice, 'INBOX');
    await appendTo(mailbox.id, 2, ['\\Seen']);
    await appendTo(mailbox.id, 1);
    const insert = `INSERT INTO ${keyspace.session.table('message_first_unseen')} (mailbox_id, uid) VALUES (?, ?)`;
    await keyspace.session.execute(insert, [mailbox.id, 1]);
    await keyspace.session.execute(insert, [mailbox.id, 2]);
    await keyspace.session.execute(insert, [mailbox.id, 0]);
    expect(await f.manager.firstUnseenUid(mailbox.id)).toBe(3);
  });

  it('schema version 5 indexes the unseen messages stored before it, idempotently, and the index is maintained afterwards', async () => {
    const inbox = await f.manager.createMailbox(alice, 'INBOX');
    const other = await f.manager.createMailbox(alice, 'Other');
    const allSeen = await f.manager.createMailbox(alice, 'Seen');
    await appendTo(inbox.id, 3, ['\\Seen']);
    await appendTo(inbox.id, 2);
    await appendTo(other.id, 1);
    await appendTo(other.id, 1, ['\\Seen']);
    await appendTo(allSeen.id, 2, ['\\Seen']);
    await f.manager.updateFlags(alice, other.id, [{ from: 1, to: 1 }], { mode: 'add', flags: ['\\Deleted'] });
    await f.manager.expunge(alice, other.id);

    // The real upgrade path: a keyspace at mailbox version 4 (no index) gets version 5 at connect.
    const session = keyspace.session;
    await session.execute(`DROP TABLE IF EXISTS ${session.table('message_first_unseen')}`, [], { prepare: false, readTimeout: 60_000 });
    await session.execute(`UPDATE ${session.table('schema_version')} SET version = 4 WHERE name = 'mailbox'`);
    const upgraded = await CassandraSession.connect(keyspace.config.cassandra, { keyspace: session.keyspace });
    try {
      const version = (await upgraded.execute(`SELECT version FROM ${upgraded.table('schema_version')} WHERE name = 'mailbox'`)).first()?.get('version');
      expect(version).toBe(MAILBOX_SCHEMA.migrations(session.keyspace).length);
    } finally {
      await upgraded.close();
    }
    // The table was dropped and made anew: prepared statements of the old one are stale.
    store = new CassandraMailboxStore(session);
    expect(await indexRows(inbox.id)).toEqual([4, 5]);
    expect(await indexRows(other.id)).toEqual([]);
    expect(await store.firstUnseenUid(inbox.id)).toBe(4);
    expect(await store.firstUnseenUid(other.id)).toBeNull();
    expect(await store.firstUnseenUid(allSeen.id)).toBeNull();

    // Rerun (a node that died mid-way): the same rows.
    expect(await new FirstUnseenIndex(session).backfill()).toEqual({ indexed: 2 });
    expect(await indexRows(inbox.id)).toEqual([4, 5]);

    // A change made after the backfill (at a higher MODSEQ) is not undone by a late rerun.
    await store.updateFlags(inbox.id, [{ from: 4, to: 4 }], { mode: 'add', flags: ['\\Seen'] });
    await new FirstUnseenIndex(session).backfill();
    expect(await store.firstUnseenUid(inbox.id)).toBe(5);
    expect(await indexRows(inbox.id)).toEqual([5]);
  });
});

describe('Cassandra deleteMailboxIfEmpty against an append in flight', () => {
  it('fails an append that allocated its UID before the seal and wrote its message after the emptiness check', async () => {
    const inbox = await f.manager.createMailbox(alice, 'INBOX');
    const stored = await f.blobs.put(MAIL_BUCKET, rfc822(1));
    // The append is held once its UID is allocated, just before its message row is written.
    const hold = holdClientCall('batch', (query) => query.startsWith(`INSERT INTO ${keyspace.session.table('message')} (`));
    try {
      const append = f.manager.append(alice, inbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() }).catch((e: unknown) => e);
      await hold.reached;
      expect(await store.deleteMailboxIfEmpty(inbox.id, alice, 'INBOX')).toBe(true);
      hold.release();
      expect(await append).toBeInstanceOf(TemporaryError);
    } finally {
      hold.restore();
    }
    expect(await f.manager.getMailbox(alice, 'INBOX')).toBeNull();
  });

  it('keeps the mailbox when the message was written before the seal, and the append succeeds', async () => {
    const inbox = await f.manager.createMailbox(alice, 'INBOX');
    const stored = await f.blobs.put(MAIL_BUCKET, rfc822(1));
    // The append is held after writing its message, before it checks that the mailbox is not sealed.
    const sequenceRead = `SELECT next_uid, highest_modseq FROM ${keyspace.session.table('mailbox_sequence')} WHERE mailbox_id = ?`;
    const counters = holdClientCall('execute', (query) => query.startsWith(`UPDATE ${keyspace.session.table('mailbox_counters')}`));
    let append: Promise<unknown>;
    try {
      append = f.manager.append(alice, inbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() }).catch((e: unknown) => e);
      await counters.reached;
    } finally {
      counters.restore();
    }
    const check = holdClientCall('execute', (query) => query === sequenceRead);
    try {
      counters.release();
      await check.reached;
      expect(await store.deleteMailboxIfEmpty(inbox.id, alice, 'INBOX')).toBe(false);
      check.release();
      const appended = (await append) as { uid: number };
      expect(appended.uid).toBe(1);
    } finally {
      check.restore();
    }
    // Unsealed with its values: the mailbox takes the next append at the next UID.
    expect(await f.manager.listUids(inbox.id)).toEqual([1]);
    expect((await appendTo(inbox.id, 1))[0]).toBe(2);
    expect((await f.manager.getMailbox(alice, 'INBOX'))?.id).toBe(inbox.id);
  });
});
