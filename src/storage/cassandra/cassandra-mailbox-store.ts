import { randomUUID } from 'node:crypto';
import type { types } from 'cassandra-driver';
import { AlreadyExistsError, NotFoundError, TemporaryError } from '../../core/errors';
import type { AppendRequest, Mailbox, MailboxStore, MessageMetadata, UidRange } from '../../mailbox/api/mailbox-store';
import { normalizeMailboxName } from '../../mailbox/api/names';
import { newUidValidity } from '../../mailbox/api/uid-validity';
import { SequenceAllocator, sleep } from './cassandra-sequence-allocator';
import type { CassandraSession } from './cassandra-session';

/** Rows fetched per page while streaming a UID range. */
const PAGE_SIZE = 500;
/** Rows per page when only UIDs are read (a UID row is a few bytes). */
const UID_PAGE_SIZE = 5_000;
/** Flag updates per single-partition batch (one mutation on the mailbox's replicas). */
const FLAG_UPDATE_BATCH = 100;
/** Mailboxes read in parallel when listing a user's mailboxes. */
const LIST_CONCURRENCY = 16;
/**
 * How long a delivery reservation without its message is presumed in flight. Longer than the
 * client-side request timeout (12 s) twice over: a live writer stores the message within it.
 */
const RESERVATION_GRACE_MS = 30_000;
/** Pause between two looks at a reservation held by a writer still in flight. */
const RESERVATION_POLL_MS = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Reservation {
  uid: number;
  modSeq: number;
  messageId: string;
  reservedAt: Date;
  committed: boolean;
}

/** MailboxStore over Cassandra; the table layout is described in `cassandra-schema.ts`. */
export class CassandraMailboxStore implements MailboxStore {
  private readonly sequences: SequenceAllocator;
  private readonly q: Record<string, string>;

  constructor(private readonly session: CassandraSession) {
    this.sequences = new SequenceAllocator(session);
    const t = (name: Parameters<CassandraSession['table']>[0]) => session.table(name);
    const messageColumns = 'mailbox_id, uid, modseq, message_id, blob_id, size, internal_date, flags';
    this.q = {
      insertMailbox: `INSERT INTO ${t('mailbox')} (id, owner, name, uid_validity) VALUES (?, ?, ?, ?)`,
      deleteMailbox: `DELETE FROM ${t('mailbox')} WHERE id = ?`,
      deleteSequence: `DELETE FROM ${t('mailbox_sequence')} WHERE mailbox_id = ? IF EXISTS`,
      insertPath: `INSERT INTO ${t('mailbox_path')} (owner, name, mailbox_id) VALUES (?, ?, ?) IF NOT EXISTS`,
      selectPath: `SELECT mailbox_id FROM ${t('mailbox_path')} WHERE owner = ? AND name = ?`,
      selectPaths: `SELECT mailbox_id FROM ${t('mailbox_path')} WHERE owner = ?`,
      selectMailbox: `SELECT id, owner, name, uid_validity FROM ${t('mailbox')} WHERE id = ?`,
      selectSequence: `SELECT next_uid, highest_modseq FROM ${t('mailbox_sequence')} WHERE mailbox_id = ?`,
      selectCount: `SELECT message_count FROM ${t('mailbox_counters')} WHERE mailbox_id = ?`,
      incrementCount: `UPDATE ${t('mailbox_counters')} SET message_count = message_count + ? WHERE mailbox_id = ?`,
      insertMessage: `INSERT INTO ${t('message')} (${messageColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
      selectMessage: `SELECT ${messageColumns} FROM ${t('message')} WHERE mailbox_id = ? AND uid = ?`,
      selectRange: `SELECT ${messageColumns} FROM ${t('message')} WHERE mailbox_id = ? AND uid >= ? AND uid <= ?`,
      selectUids: `SELECT uid, blob_id FROM ${t('message')} WHERE mailbox_id = ?`,
      addFlags: `UPDATE ${t('message')} USING TIMESTAMP ? SET flags = flags + ?, modseq = ? WHERE mailbox_id = ? AND uid = ?`,
      reserveDelivery: `INSERT INTO ${t('message_delivery')} (mailbox_id, delivery_key, uid, modseq, message_id, reserved_at) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      selectDelivery: `SELECT uid, modseq, message_id, reserved_at, committed FROM ${t('message_delivery')} WHERE mailbox_id = ? AND delivery_key = ?`,
      commitDelivery: `UPDATE ${t('message_delivery')} SET committed = true WHERE mailbox_id = ? AND delivery_key = ?`,
    };
  }

  async createMailbox(owner: string, name: string): Promise<Mailbox> {
    const normalized = normalizeMailboxName(name);
    const mailbox: Mailbox = { id: randomUUID(), owner, name: normalized, uidValidity: newUidValidity(), uidNext: 1, highestModSeq: 0, messageCount: 0 };
    // The rows the path will point to exist before the path does: a reader who finds the path finds the mailbox.
    await this.session.execute(this.q.insertMailbox, [mailbox.id, owner, normalized, mailbox.uidValidity]);
    await this.sequences.initialize(mailbox.id);
    const claimed = await this.session.execute(this.q.insertPath, [owner, normalized, mailbox.id]);
    if (!claimed.wasApplied()) {
      await this.session.execute(this.q.deleteSequence, [mailbox.id]);
      await this.session.execute(this.q.deleteMailbox, [mailbox.id]);
      throw new AlreadyExistsError(`Mailbox ${normalized} already exists`);
    }
    return mailbox;
  }

  async ensureMailbox(owner: string, name: string): Promise<Mailbox> {
    const existing = await this.getMailbox(owner, name);
    if (existing) return existing;
    try {
      return await this.createMailbox(owner, name);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const raced = await this.getMailbox(owner, name);
      if (!raced) throw err;
      return raced;
    }
  }

  async getMailbox(owner: string, name: string): Promise<Mailbox | null> {
    const row = (await this.session.execute(this.q.selectPath, [owner, normalizeMailboxName(name)])).first();
    return row ? this.getMailboxById(String(row.get('mailbox_id'))) : null;
  }

  async getMailboxById(id: string): Promise<Mailbox | null> {
    if (!UUID.test(id)) return null;
    const [mailbox, sequence, count] = await Promise.all([
      this.session.execute(this.q.selectMailbox, [id]),
      this.session.execute(this.q.selectSequence, [id]),
      this.session.execute(this.q.selectCount, [id]),
    ]);
    const row = mailbox.first();
    if (!row) return null;
    const seq = sequence.first();
    return {
      id,
      owner: row.get('owner') as string,
      name: row.get('name') as string,
      uidValidity: toNumber(row.get('uid_validity')),
      uidNext: seq ? toNumber(seq.get('next_uid')) : 1,
      highestModSeq: seq ? toNumber(seq.get('highest_modseq')) : 0,
      messageCount: count.first() ? toNumber(count.first().get('message_count')) : 0,
    };
  }

  async listMailboxes(owner: string): Promise<Mailbox[]> {
    const ids: string[] = [];
    for await (const row of this.session.rows(this.q.selectPaths, [owner], PAGE_SIZE)) ids.push(String(row.get('mailbox_id')));
    const mailboxes: (Mailbox | null)[] = [];
    for (let i = 0; i < ids.length; i += LIST_CONCURRENCY) {
      mailboxes.push(...(await Promise.all(ids.slice(i, i + LIST_CONCURRENCY).map((id) => this.getMailboxById(id)))));
    }
    // mailbox_path is clustered by name: the order is already the name order.
    return mailboxes.filter((m): m is Mailbox => m !== null);
  }

  async appendMessage(mailboxId: string, request: AppendRequest): Promise<MessageMetadata> {
    if (!UUID.test(mailboxId)) throw new NotFoundError(`Mailbox ${mailboxId} not found`);
    if (request.deliveryKey !== undefined) return this.appendOnce(mailboxId, request, request.deliveryKey);
    const { uid, modSeq } = await this.sequences.allocate(mailboxId, true);
    const message = newMessage(mailboxId, uid, modSeq, randomUUID(), request);
    await this.storeMessage(message);
    return message;
  }

  /**
   * Append with an idempotency key. A key is *reserved* in `message_delivery` by an LWT
   * (`INSERT … IF NOT EXISTS`) holding the UID, MODSEQ and message id the message will get, then
   * the message is written at that UID, then the reservation is marked `committed`.
   *
   * - No reservation: allocate, reserve (the LWT decides between concurrent deliveries; a loser's
   *   allocated UID is skipped, which IMAP allows), store, commit.
   * - Reservation whose message exists: return that message (the usual retry).
   * - Committed reservation whose message is gone: it was stored and then removed; return its
   *   metadata and never store it again.
   * - Uncommitted reservation without its message: its writer is either still in flight or died
   *   between reserving and storing. Within RESERVATION_GRACE_MS we wait for it; after that we
   *   complete it: write the message at the *reserved* UID. Writing one UID's row twice is
   *   harmless (same values, same `USING TIMESTAMP <modseq>`), so even a writer that was only
   *   slow cannot produce a second copy. Only `message_count` may then be counted twice; like
   *   James' counters it can be recomputed.
   *
   * The reservation is written by LWT without `committed`, and `committed` later by a plain
   * write, so the two never compete on one cell (Paxos and client timestamps do not compare).
   */
  private async appendOnce(mailboxId: string, request: AppendRequest, deliveryKey: string): Promise<MessageMetadata> {
    const deadline = Date.now() + 2 * RESERVATION_GRACE_MS;
    while (Date.now() < deadline) {
      const existing = await this.readReservation(mailboxId, deliveryKey);
      if (existing) {
        const message = await this.resolveReservation(mailboxId, deliveryKey, request, existing);
        if (message) return message;
        await sleep(RESERVATION_POLL_MS);
        continue;
      }
      const { uid, modSeq } = await this.sequences.allocate(mailboxId, true);
      const message = newMessage(mailboxId, uid, modSeq, randomUUID(), request);
      const reserved = await this.session.execute(this.q.reserveDelivery, [mailboxId, deliveryKey, uid, modSeq, message.messageId, new Date()]);
      if (!reserved.wasApplied()) continue;
      await this.storeMessage(message);
      await this.session.execute(this.q.commitDelivery, [mailboxId, deliveryKey]);
      return message;
    }
    throw new TemporaryError(`Delivery ${deliveryKey} into mailbox ${mailboxId} is still in progress elsewhere`);
  }

  private async resolveReservation(mailboxId: string, deliveryKey: string, request: AppendRequest, reservation: Reservation): Promise<MessageMetadata | null> {
    const stored = await this.readMessage(mailboxId, reservation.uid);
    if (stored) {
      if (!reservation.committed) await this.session.execute(this.q.commitDelivery, [mailboxId, deliveryKey]);
      return stored;
    }
    const message = newMessage(mailboxId, reservation.uid, reservation.modSeq, reservation.messageId, request);
    if (reservation.committed) return message;
    if (Date.now() - reservation.reservedAt.getTime() < RESERVATION_GRACE_MS) return null;
    await this.storeMessage(message);
    await this.session.execute(this.q.commitDelivery, [mailboxId, deliveryKey]);
    return message;
  }

  private async readReservation(mailboxId: string, deliveryKey: string): Promise<Reservation | null> {
    const row = (await this.session.execute(this.q.selectDelivery, [mailboxId, deliveryKey])).first();
    if (!row) return null;
    return {
      uid: toNumber(row.get('uid')),
      modSeq: toNumber(row.get('modseq')),
      messageId: String(row.get('message_id')),
      reservedAt: row.get('reserved_at') as Date,
      committed: row.get('committed') === true,
    };
  }

  private async storeMessage(message: MessageMetadata): Promise<void> {
    await this.session.execute(
      this.q.insertMessage,
      [message.mailboxId, message.uid, message.modSeq, message.messageId, message.blobId, message.size, message.internalDate, message.flags, message.modSeq],
      { isIdempotent: true },
    );
    await this.session.execute(this.q.incrementCount, [1, message.mailboxId]);
  }

  private async readMessage(mailboxId: string, uid: number): Promise<MessageMetadata | null> {
    const row = (await this.session.execute(this.q.selectMessage, [mailboxId, uid])).first();
    return row ? toMessage(row) : null;
  }

  async *listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageMetadata> {
    if (!UUID.test(mailboxId) || range.from > range.to) return;
    for await (const row of this.session.rows(this.q.selectRange, [mailboxId, range.from, range.to], PAGE_SIZE)) {
      const message = toMessage(row);
      if (message) yield message;
    }
  }

  async listUids(mailboxId: string): Promise<number[]> {
    if (!UUID.test(mailboxId)) return [];
    const uids: number[] = [];
    for await (const row of this.session.rows(this.q.selectUids, [mailboxId], UID_PAGE_SIZE)) {
      if (row.get('blob_id') !== null) uids.push(toNumber(row.get('uid')));
    }
    return uids;
  }

  async addFlags(mailboxId: string, range: UidRange, flags: string[]): Promise<MessageMetadata[]> {
    const wanted = [...new Set(flags)];
    const changed: MessageMetadata[] = [];
    for await (const message of this.listMessages(mailboxId, range)) {
      if (wanted.some((f) => !message.flags.includes(f))) changed.push(message);
    }
    if (changed.length === 0) return [];
    const { modSeq } = await this.sequences.allocate(mailboxId, false);
    for (let i = 0; i < changed.length; i += FLAG_UPDATE_BATCH) {
      const slice = changed.slice(i, i + FLAG_UPDATE_BATCH);
      // All rows share the mailbox's partition: an unlogged batch is one atomic mutation.
      await this.session.client.batch(
        slice.map((m) => ({ query: this.q.addFlags, params: [modSeq, wanted, modSeq, mailboxId, m.uid] })),
        { prepare: true, logged: false, isIdempotent: true },
      );
    }
    for (const message of changed) {
      message.flags = [...new Set([...message.flags, ...wanted])];
      message.modSeq = modSeq;
    }
    return changed;
  }
}

function newMessage(mailboxId: string, uid: number, modSeq: number, messageId: string, request: AppendRequest): MessageMetadata {
  return {
    mailboxId,
    uid,
    modSeq,
    messageId,
    blobId: request.blobId,
    size: request.size,
    internalDate: request.internalDate,
    flags: [...new Set(request.flags ?? [])],
  };
}

/**
 * Rows without a blob id are not messages: an update racing with a future removal can leave
 * such a fragment (an upsert on a deleted row), and readers must not show it.
 */
function toMessage(row: types.Row): MessageMetadata | null {
  const blobId = row.get('blob_id') as string | null;
  if (blobId === null) return null;
  return {
    mailboxId: String(row.get('mailbox_id')),
    uid: toNumber(row.get('uid')),
    modSeq: toNumber(row.get('modseq')),
    messageId: String(row.get('message_id')),
    blobId,
    size: toNumber(row.get('size')),
    internalDate: row.get('internal_date') as Date,
    flags: (row.get('flags') as string[] | null) ?? [],
  };
}

function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  return (value as types.Long).toNumber();
}
