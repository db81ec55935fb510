import { randomUUID } from 'node:crypto';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { MailboxManager } from '../../src/mailbox/api/mailbox-manager';
import type { AppendRequest } from '../../src/mailbox/api/mailbox-store';
import { CassandraMailboxStore } from '../../src/storage/cassandra/cassandra-mailbox-store';
import { MAILBOX_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { mailboxFixture, type MailboxFixture } from '../contracts/mailbox-store.contract';
import { useCassandraKeyspace } from '../helpers/store-fixtures';

/**
 * Crash windows of the idempotent append that the contract cannot reach through the port: the
 * rows a writer that died (or is still in flight) leaves behind are written here directly.
 */
const keyspace = useCassandraKeyspace();
let fixture: MailboxFixture;
let store: MailboxManager;
let request: AppendRequest;

beforeEach(async () => {
  await keyspace.session.truncate(MAILBOX_TABLES);
  fixture = await mailboxFixture(async () => ({ mapper: new CassandraMailboxStore(keyspace.session), cleanup: async () => undefined }));
  store = fixture.manager;
  const blob = await fixture.blobs.put(MAIL_BUCKET, Buffer.from('Subject: the message\r\n\r\nHello\r\n'));
  request = { blobId: blob.blobId, size: blob.size, internalDate: new Date('2024-05-01T10:00:00Z'), flags: ['\\Flagged'], deliveryKey: 'mail-1/rcpt-1' };
});

afterEach(async () => {
  await fixture?.cleanup();
});

/** What a writer leaves after allocating UID 1 / MODSEQ 1 and reserving the key, before storing the message. */
async function leaveReservation(mailboxId: string, options: { ageMs: number; committed?: boolean }): Promise<string> {
  const messageId = randomUUID();
  const applied = await keyspace.session.execute(
    `UPDATE ${keyspace.session.table('mailbox_sequence')} SET next_uid = 2, highest_modseq = 1 WHERE mailbox_id = ? IF next_uid = 1 AND highest_modseq = 0`,
    [mailboxId],
  );
  expect(applied.wasApplied()).toBe(true);
  await keyspace.session.execute(
    `INSERT INTO ${keyspace.session.table('message_delivery')} (mailbox_id, delivery_key, uid, modseq, message_id, reserved_at) VALUES (?, ?, 1, 1, ?, ?) IF NOT EXISTS`,
    [mailboxId, request.deliveryKey, messageId, new Date(Date.now() - options.ageMs)],
  );
  if (options.committed) {
    await keyspace.session.execute(`UPDATE ${keyspace.session.table('message_delivery')} SET committed = true WHERE mailbox_id = ? AND delivery_key = ?`, [mailboxId, request.deliveryKey]);
  }
  return messageId;
}

it('completes a delivery whose writer died after reserving, at the reserved UID', async () => {
  const mailbox = await store.createMailbox('alice@example.com', 'INBOX');
  const messageId = await leaveReservation(mailbox.id, { ageMs: 10 * 60_000 });
  const message = await store.appendMessage(mailbox.id, request);
  expect(message).toMatchObject({ uid: 1, modSeq: 1, messageId, blobId: request.blobId, flags: ['\\Flagged'] });
  expect(await store.listUids(mailbox.id)).toEqual([1]);
  expect(await store.appendMessage(mailbox.id, request)).toEqual(message);
  expect(await store.getMailboxById(mailbox.id)).toMatchObject({ uidNext: 2, messageCount: 1 });
  expect((await store.appendMessage(mailbox.id, { ...request, deliveryKey: 'another' })).uid).toBe(2);
});

it('waits for a writer still in flight instead of storing a second copy', async () => {
  const mailbox = await store.createMailbox('alice@example.com', 'INBOX');
  const messageId = await leaveReservation(mailbox.id, { ageMs: 0 });
  const retry = store.appendMessage(mailbox.id, request);
  await new Promise((resolve) => setTimeout(resolve, 500));
  // The first writer finishes: its message row appears at the reserved UID.
  await keyspace.session.execute(
    `INSERT INTO ${keyspace.session.table('message')} (mailbox_id, uid, modseq, message_id, blob_id, size, internal_date, flags) VALUES (?, 1, 1, ?, ?, ?, ?, ?) USING TIMESTAMP 1`,
    [mailbox.id, messageId, request.blobId, request.size, request.internalDate, request.flags],
  );
  expect(await retry).toMatchObject({ uid: 1, messageId });
  expect(await store.listUids(mailbox.id)).toEqual([1]);
});

it('does not store again a delivered message that is no longer there', async () => {
  const mailbox = await store.createMailbox('alice@example.com', 'INBOX');
  const messageId = await leaveReservation(mailbox.id, { ageMs: 10 * 60_000, committed: true });
  expect(await store.appendMessage(mailbox.id, request)).toMatchObject({ uid: 1, messageId });
  expect(await store.listUids(mailbox.id)).toEqual([]);
});
