/**
 * The mailbox area on Cassandra (distributed profile), sized for ~10 million messages on 2+
 * nodes at RF 2, LOCAL_QUORUM. One partition per access path:
 *
 * | table | key → columns | access path / write rule |
 * |---|---|---|
 * | `mailbox` | `id` → owner, name, uid_validity, role | mailbox by id |
 * | `mailbox_role` | `(owner)`, role → mailbox_id, claimed_at | one mailbox per special-use role. LWT only: claimed after the path, released on delete, kept by rename (see `cassandra-mailbox-roles.ts`) |
 * | `mailbox_path` | `(owner)`, name → mailbox_id | a user's mailboxes in one slice; children of `a` are the slice `a.`…`a/`. LWT only (`IF NOT EXISTS` / `IF mailbox_id = ?`): one winner for concurrent creates and renames |
 * | `mailbox_sequence` | `mailbox_id` → next_uid, highest_modseq | UID/MODSEQ allocation, LWT compare-and-set only, coalesced per node (SequenceAllocator) |
 * | `mailbox_counters` | `mailbox_id` → message_count, unseen_count, total_size (counters) | STATUS without reading messages; like James' counters they can drift on retries and are recomputable |
 * | `message` | `(mailbox_id)`, uid ↑ → modseq, message_id, thread_id, blob_id, size, dates, flags set, header_prefix (per-copy header lines before the shared blob; unset when none) | UID ranges are paged slices. Every write `USING TIMESTAMP <modseq>`: last-write-wins follows IMAP's order of changes even across nodes; flag add/remove are set operations, so concurrent changes merge. A row without blob_id is a fragment (an update racing an expunge) and is never shown |
 * | `message_delivery` | `(mailbox_id, delivery_key)` → uid, modseq, message_id, reserved_at, committed | idempotent LocalDelivery (reservation by LWT, see `appendOnce`) |
 * | `message_first_unseen` | `(mailbox_id)`, uid ↑ | the first unseen message (IMAP4rev1 SELECT UNSEEN) with one read: a row per message without \\Seen, written `USING TIMESTAMP <modseq>` beside the message row (see `cassandra-first-unseen.ts`) |
 * | `message_modseq` | `(mailbox_id)`, modseq, uid | CHANGEDSINCE without a scan: one entry per message at its current MODSEQ (the old one deleted); an entry whose message has another MODSEQ is stale and skipped |
 * | `message_expunged` | `(mailbox_id)`, modseq, uid | VANISHED (QRESYNC): expunges and moves-out, by MODSEQ. Bounded: records more than EXPUNGE_LOG_WINDOW MODSEQs old are range-deleted (one range tombstone per PRUNE_STEPS of the window); older requests get a full resync |
 * | `message_location` | `(message_id)`, mailbox_id, uid | the copies of a message (JMAP Email/mailboxIds). A move changes it with one single-partition batch (delete + insert): atomic and isolated, so it is never seen in both mailboxes or neither |
 * | `message_content` | `message_id` → headers, summary (JSON), text, thread_owner, thread_ids | parsed data, written once per MessageId and shared by its copies; deleted with the thread entries it names when the last location of the message goes |
 * | `thread_message` | `(owner, mime_message_id)`, message_id → thread_id, base_subject | thread guessing: point reads per referenced Message-ID; one entry per message, deleted with it (James' ThreadDAO) |
 * | `thread_lookup` | `(owner, mime_message_id)`, thread_id → base_subject | schema version 1 entries: still read, no longer written |
 * | `mailbox_acl` / `acl_by_identifier` | `(mailbox_id)`, identifier → rights / `(identifier)`, mailbox_id → rights | rights of a mailbox / mailboxes shared with a user (or `anyone`) |
 * | `mailbox_annotation` | `(mailbox_id)`, key → value | RFC 5464 entries of a mailbox in one slice |
 * | `subscription` | `(user)`, name | a user's subscriptions in one slice |
 *
 * Read-modify-write operations on messages (flags, expunge, copy/move) are serialized per mailbox
 * on a node; across nodes, UNCHANGEDSINCE and unseen counting are best effort (no LWT on the hot
 * paths), and the worst outcome of two nodes moving one message at once is a copy in both targets.
 */
import { types } from 'cassandra-driver';
import { TemporaryError } from '../../core/errors';
import { MailboxExistsError, MailboxNotFoundError, MailboxRoleTakenError } from '../../mailbox/api/errors';
import { SEEN, applyFlags, hasFlag } from '../../mailbox/api/flags';
import {
  EXPUNGE_LOG_WINDOW,
  expungeLogFloor,
  type MailboxMapperOptions,
  type AppendInput,
  CopiedMessage,
  ExpungedMessage,
  FlagUpdate,
  FlagUpdateResult,
  MailboxMapper,
  MessageLocation,
  NewMailbox,
  StoredContent,
  ThreadEntry,
} from '../../mailbox/api/mailbox-mapper';
import type { MailboxInfo, MailboxRole, MessageRecord, OwnerTotals, UidRange } from '../../mailbox/api/mailbox-store';
import type { MailboxAcl } from '../../mailbox/api/rights';
import type { MessageSummary } from '../../mime/parsed-message';
import { FirstUnseenIndex } from './cassandra-first-unseen';
import { MailboxRoleClaims } from './cassandra-mailbox-roles';
import { SequenceAllocator, sleep } from './cassandra-sequence-allocator';
import type { CassandraSession } from './cassandra-session';

/** Rows fetched per page while streaming a UID or MODSEQ range. */
const PAGE_SIZE = 500;
/** Rows per page when only UIDs are read (a UID row is a few bytes). */
const UID_PAGE_SIZE = 5_000;
/** Statements per single-partition unlogged batch (one mutation on the mailbox's replicas). */
const BATCH_SIZE = 100;
/** Point reads in flight at once for one call (mailboxes of a listing, contents, thread lookups). */
const READ_CONCURRENCY = 16;
/**
 * How long a delivery reservation without its message is presumed in flight. Longer than the
 * client-side request timeout (12 s) twice over: a live writer stores the message within it.
 */
const RESERVATION_GRACE_MS = 30_000;
/** Pause between two looks at a reservation held by a writer still in flight. */
const RESERVATION_POLL_MS = 100;
/**
 * The expunge log is pruned when its floor passed one of this many steps of the window: a range
 * tombstone per step, not per expunge.
 */
const PRUNE_STEPS = 16;
/** Mailboxes whose last prune bound this node remembers. */
const PRUNE_MEMORY = 10_000;
/** Rounds `deleteMailboxIfEmpty` tries to seal a mailbox that appends keep changing. */
const SEAL_ATTEMPTS = 20;
/** How long an append into a sealed mailbox awaits the deleter's decision (it takes a few reads and writes). */
const SEAL_WAIT_MS = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MESSAGE_COLUMNS = 'mailbox_id, uid, modseq, message_id, thread_id, blob_id, size, internal_date, saved_date, flags, header_prefix';

interface Reservation {
  uid: number;
  modSeq: number;
  messageId: string;
  reservedAt: Date;
  committed: boolean;
}

interface Statement {
  query: string;
  params: unknown[];
}

export class CassandraMailboxStore implements MailboxMapper {
  private readonly sequences: SequenceAllocator;
  private readonly roles: MailboxRoleClaims;
  private readonly firstUnseen: FirstUnseenIndex;
  private readonly q: Record<string, string>;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly expungeLogWindow: number;
  private readonly prunedTo = new Map<string, number>();

  constructor(
    private readonly session: CassandraSession,
    options: MailboxMapperOptions = {},
  ) {
    this.expungeLogWindow = options.expungeLogWindow ?? EXPUNGE_LOG_WINDOW;
    this.sequences = new SequenceAllocator(session);
    this.roles = new MailboxRoleClaims(session);
    this.firstUnseen = new FirstUnseenIndex(session);
    const t = (name: string) => session.table(name);
    this.q = {
      insertMailbox: `INSERT INTO ${t('mailbox')} (id, owner, name, uid_validity, role) VALUES (?, ?, ?, ?, ?)`,
      deleteMailbox: `DELETE FROM ${t('mailbox')} WHERE id = ?`,
      renameMailbox: `UPDATE ${t('mailbox')} SET name = ? WHERE id = ?`,
      setRole: `UPDATE ${t('mailbox')} SET role = ? WHERE id = ?`,
      deleteSequence: `DELETE FROM ${t('mailbox_sequence')} WHERE mailbox_id = ? IF EXISTS`,
      sealSequence: `DELETE FROM ${t('mailbox_sequence')} WHERE mailbox_id = ? IF next_uid = ? AND highest_modseq = ?`,
      restoreSequence: `INSERT INTO ${t('mailbox_sequence')} (mailbox_id, next_uid, highest_modseq) VALUES (?, ?, ?) IF NOT EXISTS`,
      insertPath: `INSERT INTO ${t('mailbox_path')} (owner, name, mailbox_id) VALUES (?, ?, ?) IF NOT EXISTS`,
      deletePath: `DELETE FROM ${t('mailbox_path')} WHERE owner = ? AND name = ? IF mailbox_id = ?`,
      selectPath: `SELECT mailbox_id FROM ${t('mailbox_path')} WHERE owner = ? AND name = ?`,
      selectPaths: `SELECT mailbox_id FROM ${t('mailbox_path')} WHERE owner = ?`,
      selectMailbox: `SELECT id, owner, name, uid_validity, role FROM ${t('mailbox')} WHERE id = ?`,
      selectSequence: `SELECT next_uid, highest_modseq FROM ${t('mailbox_sequence')} WHERE mailbox_id = ?`,
      selectCounters: `SELECT message_count, unseen_count, total_size FROM ${t('mailbox_counters')} WHERE mailbox_id = ?`,
      updateCounters: `UPDATE ${t('mailbox_counters')} SET message_count = message_count + ?, unseen_count = unseen_count + ?, total_size = total_size + ? WHERE mailbox_id = ?`,
      deleteCounters: `DELETE FROM ${t('mailbox_counters')} WHERE mailbox_id = ?`,
      insertMessage: `INSERT INTO ${t('message')} (${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
      deleteMessage: `DELETE FROM ${t('message')} USING TIMESTAMP ? WHERE mailbox_id = ? AND uid = ?`,
      deleteMessages: `DELETE FROM ${t('message')} WHERE mailbox_id = ?`,
      selectMessage: `SELECT ${MESSAGE_COLUMNS} FROM ${t('message')} WHERE mailbox_id = ? AND uid = ?`,
      selectMessagesByUid: `SELECT ${MESSAGE_COLUMNS} FROM ${t('message')} WHERE mailbox_id = ? AND uid IN ?`,
      selectRange: `SELECT ${MESSAGE_COLUMNS} FROM ${t('message')} WHERE mailbox_id = ? AND uid >= ? AND uid <= ?`,
      selectUids: `SELECT uid, blob_id FROM ${t('message')} WHERE mailbox_id = ?`,
      addFlags: `UPDATE ${t('message')} USING TIMESTAMP ? SET flags = flags + ?, modseq = ? WHERE mailbox_id = ? AND uid = ?`,
      removeFlags: `UPDATE ${t('message')} USING TIMESTAMP ? SET flags = flags - ?, modseq = ? WHERE mailbox_id = ? AND uid = ?`,
      replaceFlags: `UPDATE ${t('message')} USING TIMESTAMP ? SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?`,
      insertModSeq: `INSERT INTO ${t('message_modseq')} (mailbox_id, modseq, uid) VALUES (?, ?, ?)`,
      deleteModSeq: `DELETE FROM ${t('message_modseq')} WHERE mailbox_id = ? AND modseq = ? AND uid = ?`,
      selectModSeqs: `SELECT modseq, uid FROM ${t('message_modseq')} WHERE mailbox_id = ? AND modseq > ?`,
      deleteModSeqs: `DELETE FROM ${t('message_modseq')} WHERE mailbox_id = ?`,
      insertExpunged: `INSERT INTO ${t('message_expunged')} (mailbox_id, modseq, uid) VALUES (?, ?, ?)`,
      selectExpunged: `SELECT modseq, uid FROM ${t('message_expunged')} WHERE mailbox_id = ? AND modseq > ?`,
      deleteExpungedLog: `DELETE FROM ${t('message_expunged')} WHERE mailbox_id = ?`,
      pruneExpunged: `DELETE FROM ${t('message_expunged')} WHERE mailbox_id = ? AND modseq <= ?`,
      insertLocation: `INSERT INTO ${t('message_location')} (message_id, mailbox_id, uid) VALUES (?, ?, ?)`,
      deleteLocation: `DELETE FROM ${t('message_location')} WHERE message_id = ? AND mailbox_id = ? AND uid = ?`,
      selectLocations: `SELECT mailbox_id, uid FROM ${t('message_location')} WHERE message_id = ?`,
      insertContent: `INSERT INTO ${t('message_content')} (message_id, headers, summary, text, thread_owner, thread_ids) VALUES (?, ?, ?, ?, ?, ?)`,
      selectContentThread: `SELECT thread_owner, thread_ids FROM ${t('message_content')} WHERE message_id = ?`,
      deleteContent: `DELETE FROM ${t('message_content')} WHERE message_id = ?`,
      selectContent: `SELECT headers, summary FROM ${t('message_content')} WHERE message_id = ?`,
      selectContentWithText: `SELECT headers, summary, text FROM ${t('message_content')} WHERE message_id = ?`,
      reserveDelivery: `INSERT INTO ${t('message_delivery')} (mailbox_id, delivery_key, uid, modseq, message_id, reserved_at) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      selectDelivery: `SELECT uid, modseq, message_id, reserved_at, committed FROM ${t('message_delivery')} WHERE mailbox_id = ? AND delivery_key = ?`,
      commitDelivery: `UPDATE ${t('message_delivery')} SET committed = true WHERE mailbox_id = ? AND delivery_key = ?`,
      selectLegacyThread: `SELECT thread_id, base_subject FROM ${t('thread_lookup')} WHERE owner = ? AND mime_message_id = ?`,
      selectThread: `SELECT thread_id, base_subject FROM ${t('thread_message')} WHERE owner = ? AND mime_message_id = ?`,
      insertThread: `INSERT INTO ${t('thread_message')} (owner, mime_message_id, message_id, thread_id, base_subject) VALUES (?, ?, ?, ?, ?)`,
      deleteThread: `DELETE FROM ${t('thread_message')} WHERE owner = ? AND mime_message_id = ? AND message_id = ?`,
      selectAcl: `SELECT identifier, rights FROM ${t('mailbox_acl')} WHERE mailbox_id = ?`,
      upsertAcl: `INSERT INTO ${t('mailbox_acl')} (mailbox_id, identifier, rights) VALUES (?, ?, ?)`,
      deleteAcl: `DELETE FROM ${t('mailbox_acl')} WHERE mailbox_id = ? AND identifier = ?`,
      deleteAcls: `DELETE FROM ${t('mailbox_acl')} WHERE mailbox_id = ?`,
      upsertAclByIdentifier: `INSERT INTO ${t('acl_by_identifier')} (identifier, mailbox_id, rights) VALUES (?, ?, ?)`,
      deleteAclByIdentifier: `DELETE FROM ${t('acl_by_identifier')} WHERE identifier = ? AND mailbox_id = ?`,
      selectAclByIdentifier: `SELECT mailbox_id, rights FROM ${t('acl_by_identifier')} WHERE identifier = ?`,
      selectAnnotations: `SELECT key, value FROM ${t('mailbox_annotation')} WHERE mailbox_id = ?`,
      upsertAnnotation: `INSERT INTO ${t('mailbox_annotation')} (mailbox_id, key, value) VALUES (?, ?, ?)`,
      deleteAnnotation: `DELETE FROM ${t('mailbox_annotation')} WHERE mailbox_id = ? AND key = ?`,
      deleteAnnotations: `DELETE FROM ${t('mailbox_annotation')} WHERE mailbox_id = ?`,
      subscribe: `INSERT INTO ${t('subscription')} (user, name) VALUES (?, ?)`,
      unsubscribe: `DELETE FROM ${t('subscription')} WHERE user = ? AND name = ?`,
      selectSubscriptions: `SELECT name FROM ${t('subscription')} WHERE user = ?`,
    };
  }

  // ---- mailboxes ----

  async insertMailbox(mailbox: NewMailbox): Promise<MailboxInfo> {
    // The rows the path will point to exist before the path does: a reader who finds the path finds the mailbox.
    // The row gets its role only once the role is claimed (after the name): readers never see two holders,
    // and of concurrent creates of one name the name decides first (ALREADYEXISTS, as on SQLite).
    await this.session.execute(this.q.insertMailbox, [mailbox.id, mailbox.owner, mailbox.name, mailbox.uidValidity, null]);
    await this.sequences.initialize(mailbox.id);
    const claimed = await this.session.execute(this.q.insertPath, [mailbox.owner, mailbox.name, mailbox.id]);
    if (!claimed.wasApplied()) {
      await this.removeUnclaimed(mailbox.id);
      throw new MailboxExistsError(`Mailbox ${mailbox.name} already exists`);
    }
    if (mailbox.role !== null) {
      let holds = false;
      try {
        holds = await this.roles.claim(mailbox.owner, mailbox.role, mailbox.id);
        if (holds) await this.session.execute(this.q.setRole, [mailbox.role, mailbox.id]);
      } catch (err) {
        // Best effort: what is left behind is recognised as stale by the next claim (see MailboxRoleClaims).
        if (holds) await this.roles.release(mailbox.owner, mailbox.role, mailbox.id).catch(() => undefined);
        await this.removeClaimedPath(mailbox).catch(() => undefined);
        throw err;
      }
      if (!holds) {
        await this.removeClaimedPath(mailbox);
        throw new MailboxRoleTakenError(`Another mailbox of ${mailbox.owner} has the role ${mailbox.role}`);
      }
    }
    return { ...mailbox, uidNext: 1, highestModSeq: 0, messageCount: 0, unseenCount: 0, size: 0 };
  }

  /** Undoes an insert refused after its name was claimed: the name goes first, then the rows. */
  private async removeClaimedPath(mailbox: NewMailbox): Promise<void> {
    await this.session.execute(this.q.deletePath, [mailbox.owner, mailbox.name, mailbox.id]);
    await this.removeUnclaimed(mailbox.id);
  }

  private async removeUnclaimed(id: string): Promise<void> {
    await this.session.execute(this.q.deleteSequence, [id]);
    await this.session.execute(this.q.deleteMailbox, [id]);
  }

  async findMailboxByName(owner: string, name: string): Promise<MailboxInfo | null> {
    const row = (await this.session.execute(this.q.selectPath, [owner, name])).first();
    return row ? this.findMailboxById(String(row.get('mailbox_id'))) : null;
  }

  async findMailboxById(id: string): Promise<MailboxInfo | null> {
    if (!UUID.test(id)) return null;
    const [mailbox, sequence, counters] = await Promise.all([
      this.session.execute(this.q.selectMailbox, [id]),
      this.session.execute(this.q.selectSequence, [id]),
      this.session.execute(this.q.selectCounters, [id]),
    ]);
    const row = mailbox.first();
    const seq = sequence.first();
    if (!row || !seq) return null;
    const count = counters.first();
    return {
      id,
      owner: row.get('owner') as string,
      name: row.get('name') as string,
      role: (row.get('role') as MailboxRole | null) ?? null,
      uidValidity: toNumber(row.get('uid_validity')),
      uidNext: toNumber(seq.get('next_uid')),
      highestModSeq: toNumber(seq.get('highest_modseq')),
      messageCount: count ? toNumber(count.get('message_count')) : 0,
      unseenCount: count ? toNumber(count.get('unseen_count')) : 0,
      size: count ? toNumber(count.get('total_size')) : 0,
    };
  }

  async listMailboxes(owner: string): Promise<MailboxInfo[]> {
    const ids: string[] = [];
    for await (const row of this.session.rows(this.q.selectPaths, [owner], PAGE_SIZE)) ids.push(String(row.get('mailbox_id')));
    // mailbox_path is clustered by name: the order is already the name order.
    const mailboxes = await mapConcurrently(ids, (id) => this.findMailboxById(id));
    return mailboxes.filter((m): m is MailboxInfo => m !== null && m.owner === owner);
  }

  /** The counters of each of the owner's mailboxes, summed (Cassandra has no aggregate across partitions). */
  async ownerTotals(owner: string): Promise<OwnerTotals> {
    const totals: OwnerTotals = { messageCount: 0, size: 0 };
    for (const mailbox of await this.listMailboxes(owner)) {
      totals.messageCount += mailbox.messageCount;
      totals.size += mailbox.size;
    }
    return totals;
  }

  async renameMailbox(id: string, owner: string, oldName: string, newName: string): Promise<void> {
    const claimed = await this.session.execute(this.q.insertPath, [owner, newName, id]);
    if (!claimed.wasApplied()) throw new MailboxExistsError(`Mailbox ${newName} already exists`);
    await this.session.execute(this.q.renameMailbox, [newName, id]);
    await this.session.execute(this.q.deletePath, [owner, oldName, id]);
  }

  async deleteMailbox(id: string, owner: string, name: string): Promise<void> {
    // The path goes first: from then on nobody finds the mailbox by name; appends by id fail once the sequence row is gone.
    const role = ((await this.session.execute(this.q.selectMailbox, [id])).first()?.get('role') as MailboxRole | null | undefined) ?? null;
    await this.session.execute(this.q.deletePath, [owner, name, id]);
    // Then its role is free for another mailbox (a claim taken over meanwhile is left alone).
    if (role !== null) await this.roles.release(owner, role, id);
    await this.session.execute(this.q.deleteSequence, [id]);
    const locations: Statement[] = [];
    for await (const row of this.session.rows(`SELECT uid, message_id FROM ${this.session.table('message')} WHERE mailbox_id = ?`, [id], UID_PAGE_SIZE)) {
      if (row.get('message_id') === null) continue;
      locations.push({ query: this.q.deleteLocation, params: [row.get('message_id'), id, row.get('uid')] });
    }
    await mapConcurrently(locations, (s) => this.session.execute(s.query, s.params));
    const messageIds = locations.map((s) => String(s.params[0]));
    const acl = await this.getAcl(id);
    await Promise.all(Object.keys(acl).map((identifier) => this.session.execute(this.q.deleteAclByIdentifier, [identifier, id])));
    await Promise.all([
      ...[this.q.deleteMessages, this.q.deleteModSeqs, this.q.deleteExpungedLog, this.q.deleteAcls, this.q.deleteAnnotations, this.q.deleteCounters, this.q.deleteMailbox].map(
        (query) => this.session.execute(query, [id]),
      ),
      this.firstUnseen.deleteMailbox(id),
    ]);
    await this.dropContentIfUnused(messageIds);
  }

  /**
   * Deletes the mailbox only if it holds no message, so that no append is acknowledged into it
   * afterwards. The `mailbox_sequence` row is *sealed* first — deleted by an LWT conditioned on
   * the values read through Paxos — so no UID can be allocated from then on (appends fail with
   * MailboxNotFoundError); only then is the mailbox looked at. An append that allocated its UID
   * before the seal checks, once its message is written, that the row is still there
   * (`checkNotSealed`): if the check saw the row, the message was written before the seal and
   * the look after the seal finds it; otherwise the append awaits the outcome and fails
   * (TemporaryError) if the mailbox went. A mailbox that holds messages is unsealed (the row
   * restored with the values it had: nothing was allocated meanwhile) and kept. Costs every
   * append one point read of the sequence row.
   */
  async deleteMailboxIfEmpty(id: string, owner: string, name: string): Promise<boolean> {
    if (!UUID.test(id)) return true;
    return this.locked(id, async () => {
      const sealed = await this.seal(id);
      if (await this.holdsMessages(id)) {
        if (sealed) await this.session.execute(this.q.restoreSequence, [id, sealed.nextUid, sealed.highestModSeq]);
        return false;
      }
      // No seal when the row was gone already: a delete died mid-way (finished now), or another node sealed it and decides.
      await this.deleteMailbox(id, owner, name);
      return true;
    });
  }

  private async seal(id: string): Promise<{ nextUid: number; highestModSeq: number } | null> {
    for (let attempt = 0; attempt < SEAL_ATTEMPTS; attempt++) {
      const current = await this.sequences.current(id);
      if (!current) return null;
      const result = await this.session.execute(this.q.sealSequence, [id, current.nextUid, current.highestModSeq]);
      if (result.wasApplied()) return current;
      await sleep(Math.random() * RESERVATION_POLL_MS);
    }
    throw new TemporaryError(`Mailbox ${id} keeps changing: not deleted, try again`);
  }

  private async holdsMessages(id: string): Promise<boolean> {
    for await (const row of this.session.rows(this.q.selectUids, [id], UID_PAGE_SIZE)) if (row.get('blob_id') !== null) return true;
    return false;
  }

  /**
   * After an append or copy wrote its messages (and `written` their locations): returns when the
   * target is live. Its sequence row missing means `deleteMailboxIfEmpty` sealed it, maybe having
   * looked before the messages were written: the outcome is awaited. Unsealed, the mailbox was kept
   * with them; deleted, they went with it (its partition deletion shadows rows written later) and
   * their locations go too: TemporaryError, the append is not acknowledged.
   */
  private async checkNotSealed(mailboxId: string, written: readonly MessageRecord[]): Promise<void> {
    const deadline = Date.now() + SEAL_WAIT_MS;
    for (;;) {
      if ((await this.session.execute(this.q.selectSequence, [mailboxId])).first()) return;
      if (!(await this.session.execute(this.q.selectMailbox, [mailboxId])).first()) {
        await mapConcurrently(written, (m) => this.session.execute(this.q.deleteLocation, [m.messageId, mailboxId, m.uid], { isIdempotent: true }));
        await this.dropContentIfUnused(written.map((m) => m.messageId));
        throw new TemporaryError(`Mailbox ${mailboxId} was deleted: the message was not stored`);
      }
      if (Date.now() >= deadline) throw new TemporaryError(`Mailbox ${mailboxId} is being deleted: the message may not be stored`);
      await sleep(RESERVATION_POLL_MS);
    }
  }

  // ---- ACL, subscriptions, annotations ----

  async getAcl(mailboxId: string): Promise<MailboxAcl> {
    const acl: MailboxAcl = {};
    for (const row of (await this.session.execute(this.q.selectAcl, [mailboxId])).rows) acl[row.get('identifier') as string] = row.get('rights') as string;
    return acl;
  }

  async setAclEntry(mailboxId: string, _owner: string, identifier: string, rights: string | null): Promise<void> {
    if (rights) {
      await this.session.execute(this.q.upsertAcl, [mailboxId, identifier, rights]);
      await this.session.execute(this.q.upsertAclByIdentifier, [identifier, mailboxId, rights]);
    } else {
      await this.session.execute(this.q.deleteAcl, [mailboxId, identifier]);
      await this.session.execute(this.q.deleteAclByIdentifier, [identifier, mailboxId]);
    }
  }

  async listSharedWith(identifiers: readonly string[]): Promise<{ mailboxId: string; identifier: string; rights: string }[]> {
    const out: { mailboxId: string; identifier: string; rights: string }[] = [];
    for (const identifier of identifiers) {
      for await (const row of this.session.rows(this.q.selectAclByIdentifier, [identifier], PAGE_SIZE)) {
        out.push({ mailboxId: String(row.get('mailbox_id')), identifier, rights: row.get('rights') as string });
      }
    }
    return out;
  }

  async subscribe(user: string, name: string): Promise<void> {
    await this.session.execute(this.q.subscribe, [user, name]);
  }

  async unsubscribe(user: string, name: string): Promise<void> {
    await this.session.execute(this.q.unsubscribe, [user, name]);
  }

  async listSubscriptions(user: string): Promise<string[]> {
    const names: string[] = [];
    for await (const row of this.session.rows(this.q.selectSubscriptions, [user], PAGE_SIZE)) names.push(row.get('name') as string);
    return names;
  }

  async getAnnotations(mailboxId: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for await (const row of this.session.rows(this.q.selectAnnotations, [mailboxId], PAGE_SIZE)) out.set(row.get('key') as string, row.get('value') as string);
    return out;
  }

  async setAnnotation(mailboxId: string, key: string, value: string | null): Promise<void> {
    if (value === null) await this.session.execute(this.q.deleteAnnotation, [mailboxId, key]);
    else await this.session.execute(this.q.upsertAnnotation, [mailboxId, key, value]);
  }

  // ---- messages ----

  async append(mailboxId: string, input: AppendInput): Promise<MessageRecord> {
    if (!UUID.test(mailboxId)) throw new MailboxNotFoundError(`Mailbox ${mailboxId} does not exist`);
    if (input.deliveryKey !== undefined) return this.appendOnce(mailboxId, input, input.deliveryKey);
    const { uid, modSeq } = await this.allocate(mailboxId, true);
    const message = newMessage(mailboxId, uid, modSeq, input.messageId, input);
    await this.storeContent(message, input);
    await this.storeMessages([message]);
    await this.checkNotSealed(mailboxId, [message]);
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
   *   complete it at the *reserved* UID. Writing one UID's row twice is harmless (same values,
   *   same `USING TIMESTAMP <modseq>`); only the counters may then count it twice.
   */
  private async appendOnce(mailboxId: string, input: AppendInput, deliveryKey: string): Promise<MessageRecord> {
    const deadline = Date.now() + 2 * RESERVATION_GRACE_MS;
    while (Date.now() < deadline) {
      const existing = await this.readReservation(mailboxId, deliveryKey);
      if (existing) {
        const message = await this.resolveReservation(mailboxId, deliveryKey, input, existing);
        if (message) return message;
        await sleep(RESERVATION_POLL_MS);
        continue;
      }
      const { uid, modSeq } = await this.allocate(mailboxId, true);
      const message = newMessage(mailboxId, uid, modSeq, input.messageId, input);
      const reserved = await this.session.execute(this.q.reserveDelivery, [mailboxId, deliveryKey, uid, modSeq, message.messageId, new Date()]);
      if (!reserved.wasApplied()) continue;
      await this.storeContent(message, input);
      await this.storeMessages([message]);
      await this.checkNotSealed(mailboxId, [message]);
      await this.session.execute(this.q.commitDelivery, [mailboxId, deliveryKey]);
      return message;
    }
    throw new TemporaryError(`Delivery ${deliveryKey} into mailbox ${mailboxId} is still in progress elsewhere`);
  }

  private async resolveReservation(mailboxId: string, deliveryKey: string, input: AppendInput, reservation: Reservation): Promise<MessageRecord | null> {
    const stored = await this.readMessage(mailboxId, reservation.uid);
    if (stored) {
      if (!reservation.committed) await this.session.execute(this.q.commitDelivery, [mailboxId, deliveryKey]);
      return stored;
    }
    const message = newMessage(mailboxId, reservation.uid, reservation.modSeq, reservation.messageId, input);
    if (reservation.committed) return message;
    if (Date.now() - reservation.reservedAt.getTime() < RESERVATION_GRACE_MS) return null;
    await this.storeContent(message, input);
    await this.storeMessages([message]);
    await this.checkNotSealed(mailboxId, [message]);
    await this.session.execute(this.q.commitDelivery, [mailboxId, deliveryKey]);
    return message;
  }

  async findByDeliveryKey(mailboxId: string, deliveryKey: string): Promise<MessageRecord | null> {
    if (!UUID.test(mailboxId)) return null;
    const reservation = await this.readReservation(mailboxId, deliveryKey);
    return reservation ? this.readMessage(mailboxId, reservation.uid) : null;
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

  private async allocate(mailboxId: string, wantsUid: boolean): Promise<{ uid: number; modSeq: number }> {
    try {
      return await this.sequences.allocate(mailboxId, wantsUid);
    } catch (err) {
      if (err instanceof Error && err.name === 'NotFoundError') throw new MailboxNotFoundError(`Mailbox ${mailboxId} does not exist`);
      throw err;
    }
  }

  /** The parsed data and the thread lookup entries of a new message (idempotent: rewritten as is on a retry). */
  private async storeContent(message: MessageRecord, input: AppendInput): Promise<void> {
    const { content, thread } = input;
    await Promise.all([
      this.session.execute(
        this.q.insertContent,
        [message.messageId, content.headers, JSON.stringify(content.summary), content.text, thread.owner, [...thread.mimeMessageIds]],
        { isIdempotent: true },
      ),
      mapConcurrently(thread.mimeMessageIds, (id) =>
        this.session.execute(this.q.insertThread, [thread.owner, id, message.messageId, message.threadId, thread.baseSubject], { isIdempotent: true }),
      ),
    ]);
  }

  /** Rows, MODSEQ index and locations of new messages of one mailbox, then its counters. */
  private async storeMessages(messages: MessageRecord[]): Promise<void> {
    if (messages.length === 0) return;
    const mailboxId = messages[0].mailboxId;
    await this.batches(
      messages.map((m) => ({
        query: this.q.insertMessage,
        params: [m.mailboxId, m.uid, m.modSeq, m.messageId, m.threadId, m.blobId, m.size, m.internalDate, m.savedDate, m.flags, m.headerPrefix ?? types.unset, m.modSeq],
      })),
    );
    await Promise.all([
      this.batches([
        ...messages.map((m) => ({ query: this.q.insertModSeq, params: [mailboxId, m.modSeq, m.uid] })),
        ...messages.filter((m) => !hasFlag(m.flags, SEEN)).map((m) => this.firstUnseen.unseen(mailboxId, m.uid, m.modSeq)),
      ]),
      mapConcurrently(messages, (m) => this.session.execute(this.q.insertLocation, [m.messageId, mailboxId, m.uid], { isIdempotent: true })),
    ]);
    const unseen = messages.filter((m) => !hasFlag(m.flags, SEEN)).length;
    await this.session.execute(this.q.updateCounters, [
      types.Long.fromNumber(messages.length),
      types.Long.fromNumber(unseen),
      types.Long.fromNumber(messages.reduce((n, m) => n + m.size, 0)),
      mailboxId,
    ]);
  }

  private async readMessage(mailboxId: string, uid: number): Promise<MessageRecord | null> {
    const row = (await this.session.execute(this.q.selectMessage, [mailboxId, uid])).first();
    return row ? toMessage(row) : null;
  }

  async copy(sourceId: string, ranges: readonly UidRange[], targetId: string, options: { move: boolean; savedDate: Date }): Promise<CopiedMessage[]> {
    if (!UUID.test(sourceId)) throw new MailboxNotFoundError(`Mailbox ${sourceId} does not exist`);
    if (!UUID.test(targetId)) throw new MailboxNotFoundError(`Mailbox ${targetId} does not exist`);
    return this.locked(sourceId, async () => {
      const originals = await this.messagesIn(sourceId, ranges);
      if (originals.length === 0) return [];
      const allocations = await Promise.all(originals.map(() => this.allocate(targetId, true)));
      const copied: CopiedMessage[] = originals.map((original, i) => ({
        sourceUid: original.uid,
        message: { ...original, mailboxId: targetId, uid: allocations[i].uid, modSeq: allocations[i].modSeq, savedDate: options.savedDate },
      }));
      if (!options.move) {
        await this.storeMessages(copied.map((c) => c.message));
        await this.checkNotSealed(targetId, copied.map((c) => c.message));
        return copied;
      }
      // Target rows first; then each message's locations switch in one atomic batch; then the source rows go.
      const messages = copied.map((c) => c.message);
      await this.batches(
        messages.map((m) => ({
          query: this.q.insertMessage,
          params: [m.mailboxId, m.uid, m.modSeq, m.messageId, m.threadId, m.blobId, m.size, m.internalDate, m.savedDate, m.flags, m.headerPrefix ?? types.unset, m.modSeq],
        })),
      );
      await this.batches([
        ...messages.map((m) => ({ query: this.q.insertModSeq, params: [targetId, m.modSeq, m.uid] })),
        ...messages.filter((m) => !hasFlag(m.flags, SEEN)).map((m) => this.firstUnseen.unseen(targetId, m.uid, m.modSeq)),
      ]);
      // Before the source loses them: a move into a mailbox being deleted leaves them where they were.
      await this.checkNotSealed(targetId, []);
      await mapConcurrently(copied, (c) =>
        this.session.client.batch(
          [
            { query: this.q.deleteLocation, params: [c.message.messageId, sourceId, c.sourceUid] },
            { query: this.q.insertLocation, params: [c.message.messageId, targetId, c.message.uid] },
          ],
          { prepare: true, logged: false, isIdempotent: true },
        ),
      );
      const unseen = originals.filter((m) => !hasFlag(m.flags, SEEN)).length;
      const size = originals.reduce((n, m) => n + m.size, 0);
      await this.session.execute(this.q.updateCounters, [types.Long.fromNumber(originals.length), types.Long.fromNumber(unseen), types.Long.fromNumber(size), targetId]);
      await this.removeFromSource(sourceId, originals, unseen, size);
      return copied;
    });
  }

  private async removeFromSource(mailboxId: string, messages: MessageRecord[], unseen: number, size: number): Promise<number> {
    const { modSeq } = await this.allocate(mailboxId, false);
    await this.batches(messages.map((m) => ({ query: this.q.deleteMessage, params: [modSeq, mailboxId, m.uid] })));
    await this.batches([
      ...messages.map((m) => ({ query: this.q.insertExpunged, params: [mailboxId, modSeq, m.uid] })),
      ...messages.map((m) => ({ query: this.q.deleteModSeq, params: [mailboxId, m.modSeq, m.uid] })),
      ...messages.filter((m) => !hasFlag(m.flags, SEEN)).map((m) => this.firstUnseen.gone(mailboxId, m.uid, modSeq)),
    ]);
    await this.session.execute(this.q.updateCounters, [types.Long.fromNumber(-messages.length), types.Long.fromNumber(-unseen), types.Long.fromNumber(-size), mailboxId]);
    await this.pruneExpungeLog(mailboxId, modSeq);
    return modSeq;
  }

  /** Range-deletes the expunge records that fell out of the window, once per PRUNE_STEPS of it. */
  private async pruneExpungeLog(mailboxId: string, highestModSeq: number): Promise<void> {
    const step = Math.max(1, Math.floor(this.expungeLogWindow / PRUNE_STEPS));
    const bound = Math.floor(expungeLogFloor(highestModSeq, this.expungeLogWindow) / step) * step;
    if (bound <= 0 || (this.prunedTo.get(mailboxId) ?? 0) >= bound) return;
    await this.session.execute(this.q.pruneExpunged, [mailboxId, bound], { isIdempotent: true });
    this.prunedTo.delete(mailboxId);
    if (this.prunedTo.size >= PRUNE_MEMORY) this.prunedTo.delete(this.prunedTo.keys().next().value as string);
    this.prunedTo.set(mailboxId, bound);
  }

  /**
   * Removes the parsed data and thread entries of messages that have no location left. Within a
   * node the mailbox lock orders this after any copy of the message out of this mailbox; a copy of
   * another copy racing on another node keeps a location, so the data stays.
   */
  private async dropContentIfUnused(messageIds: readonly string[]): Promise<void> {
    await mapConcurrently([...new Set(messageIds)], async (messageId) => {
      if ((await this.session.execute(this.q.selectLocations, [messageId])).rows.length > 0) return;
      const row = (await this.session.execute(this.q.selectContentThread, [messageId])).first();
      if (!row) return;
      const owner = row.get('thread_owner') as string | null;
      const ids = (row.get('thread_ids') as string[] | null) ?? [];
      if (owner !== null) await mapConcurrently(ids, (id) => this.session.execute(this.q.deleteThread, [owner, id, messageId], { isIdempotent: true }));
      await this.session.execute(this.q.deleteContent, [messageId], { isIdempotent: true });
    });
  }

  async *listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageRecord> {
    if (!UUID.test(mailboxId) || range.from > range.to) return;
    for await (const row of this.session.rows(this.q.selectRange, [mailboxId, range.from, range.to], PAGE_SIZE)) {
      const message = toMessage(row);
      if (message) yield message;
    }
  }

  /** One read of the `message_first_unseen` index (and one of the message it names): O(1). */
  async firstUnseenUid(mailboxId: string): Promise<number | null> {
    if (!UUID.test(mailboxId)) return null;
    return this.firstUnseen.first(mailboxId);
  }

  async listUids(mailboxId: string): Promise<number[]> {
    if (!UUID.test(mailboxId)) return [];
    const uids: number[] = [];
    for await (const row of this.session.rows(this.q.selectUids, [mailboxId], UID_PAGE_SIZE)) {
      if (row.get('blob_id') !== null) uids.push(toNumber(row.get('uid')));
    }
    return uids;
  }

  async updateFlags(mailboxId: string, ranges: readonly UidRange[], update: FlagUpdate): Promise<FlagUpdateResult> {
    if (!UUID.test(mailboxId)) throw new MailboxNotFoundError(`Mailbox ${mailboxId} does not exist`);
    return this.locked(mailboxId, async () => {
      const result: FlagUpdateResult = { updated: [], failed: [] };
      const changes: { message: MessageRecord; next: string[] }[] = [];
      for (const message of await this.messagesIn(mailboxId, ranges)) {
        if (update.unchangedSince !== undefined && message.modSeq > update.unchangedSince) {
          result.failed.push(message.uid);
          continue;
        }
        const next = applyFlags(message.flags, update.mode, update.flags);
        if (next !== null) changes.push({ message, next });
      }
      if (changes.length === 0) return result;
      const { modSeq } = await this.allocate(mailboxId, false);
      const query = update.mode === 'add' ? this.q.addFlags : update.mode === 'remove' ? this.q.removeFlags : this.q.replaceFlags;
      await this.batches(
        changes.map(({ message, next }) => {
          // Set operations merge with concurrent changes on other nodes; the value removed is spelled as stored.
          const value = update.mode === 'add' ? next.filter((f) => !message.flags.includes(f)) : update.mode === 'remove' ? message.flags.filter((f) => !next.includes(f)) : next;
          return { query, params: [modSeq, value, modSeq, mailboxId, message.uid] };
        }),
      );
      await this.batches([
        ...changes.map(({ message }) => ({ query: this.q.insertModSeq, params: [mailboxId, modSeq, message.uid] })),
        ...changes.map(({ message }) => ({ query: this.q.deleteModSeq, params: [mailboxId, message.modSeq, message.uid] })),
        ...changes.flatMap(({ message, next }) => {
          const wasSeen = hasFlag(message.flags, SEEN);
          if (wasSeen === hasFlag(next, SEEN)) return [];
          return [wasSeen ? this.firstUnseen.unseen(mailboxId, message.uid, modSeq) : this.firstUnseen.gone(mailboxId, message.uid, modSeq)];
        }),
      ]);
      const unseenDelta = changes.reduce((n, { message, next }) => n + (hasFlag(message.flags, SEEN) ? 1 : 0) - (hasFlag(next, SEEN) ? 1 : 0), 0);
      if (unseenDelta !== 0) {
        await this.session.execute(this.q.updateCounters, [types.Long.ZERO, types.Long.fromNumber(unseenDelta), types.Long.ZERO, mailboxId]);
      }
      result.updated = changes.map(({ message, next }) => ({ oldFlags: message.flags, message: { ...message, flags: next, modSeq } }));
      return result;
    });
  }

  async expunge(mailboxId: string, ranges: readonly UidRange[]): Promise<ExpungedMessage[]> {
    if (!UUID.test(mailboxId)) throw new MailboxNotFoundError(`Mailbox ${mailboxId} does not exist`);
    return this.locked(mailboxId, async () => {
      const deleted = (await this.messagesIn(mailboxId, ranges)).filter((m) => hasFlag(m.flags, '\\Deleted'));
      if (deleted.length === 0) return [];
      const unseen = deleted.filter((m) => !hasFlag(m.flags, SEEN)).length;
      const size = deleted.reduce((n, m) => n + m.size, 0);
      const modSeq = await this.removeFromSource(mailboxId, deleted, unseen, size);
      await mapConcurrently(deleted, (m) => this.session.execute(this.q.deleteLocation, [m.messageId, mailboxId, m.uid], { isIdempotent: true }));
      await this.dropContentIfUnused(deleted.map((m) => m.messageId));
      return deleted.map((m) => ({ uid: m.uid, modSeq, messageId: m.messageId, size: m.size, flags: m.flags }));
    });
  }

  async *changedSince(mailboxId: string, modSeq: number): AsyncIterable<MessageRecord> {
    if (!UUID.test(mailboxId)) return;
    let page: { modSeq: number; uid: number }[] = [];
    const flush = async function* (this: CassandraMailboxStore): AsyncIterable<MessageRecord> {
      const rows = (await this.session.execute(this.q.selectMessagesByUid, [mailboxId, page.map((e) => e.uid)])).rows;
      const byUid = new Map<number, MessageRecord>();
      for (const row of rows) {
        const message = toMessage(row);
        if (message) byUid.set(message.uid, message);
      }
      for (const entry of page) {
        const message = byUid.get(entry.uid);
        // Stale entries (the message changed again, or is gone) are skipped.
        if (message && message.modSeq === entry.modSeq) yield message;
      }
      page = [];
    };
    for await (const row of this.session.rows(this.q.selectModSeqs, [mailboxId, modSeq], PAGE_SIZE)) {
      page.push({ modSeq: toNumber(row.get('modseq')), uid: toNumber(row.get('uid')) });
      if (page.length >= BATCH_SIZE) yield* flush.call(this);
    }
    if (page.length > 0) yield* flush.call(this);
  }

  async expungedSince(mailboxId: string, modSeq: number): Promise<{ uid: number; modSeq: number }[] | null> {
    if (!UUID.test(mailboxId)) return [];
    const sequence = (await this.session.execute(this.q.selectSequence, [mailboxId])).first();
    if (sequence && modSeq < expungeLogFloor(toNumber(sequence.get('highest_modseq')), this.expungeLogWindow)) return null;
    const out: { uid: number; modSeq: number }[] = [];
    for await (const row of this.session.rows(this.q.selectExpunged, [mailboxId, modSeq], UID_PAGE_SIZE)) {
      out.push({ uid: toNumber(row.get('uid')), modSeq: toNumber(row.get('modseq')) });
    }
    return out;
  }

  async getLocations(messageId: string): Promise<MessageLocation[]> {
    if (!UUID.test(messageId)) return [];
    const rows = (await this.session.execute(this.q.selectLocations, [messageId])).rows;
    return rows.map((row) => ({ mailboxId: String(row.get('mailbox_id')), uid: toNumber(row.get('uid')) }));
  }

  async getContents(messageIds: readonly string[], withText: boolean): Promise<Map<string, StoredContent>> {
    const out = new Map<string, StoredContent>();
    const query = withText ? this.q.selectContentWithText : this.q.selectContent;
    await mapConcurrently(
      messageIds.filter((id) => UUID.test(id)),
      async (id) => {
        const row = (await this.session.execute(query, [id])).first();
        if (!row) return;
        out.set(id, {
          headers: (row.get('headers') as Buffer | null) ?? Buffer.alloc(0),
          summary: JSON.parse(row.get('summary') as string) as MessageSummary,
          text: withText ? ((row.get('text') as string | null) ?? '') : '',
        });
      },
    );
    return out;
  }

  async findThreads(owner: string, mimeMessageIds: readonly string[]): Promise<ThreadEntry[]> {
    const lookups = mimeMessageIds.flatMap((mimeMessageId) => [this.q.selectThread, this.q.selectLegacyThread].map((query) => ({ query, mimeMessageId })));
    const found = await mapConcurrently(lookups, async ({ query, mimeMessageId }) =>
      (await this.session.execute(query, [owner, mimeMessageId])).rows.map((row) => ({
        mimeMessageId,
        threadId: String(row.get('thread_id')),
        baseSubject: row.get('base_subject') as string,
      })),
    );
    return found.flat();
  }

  // ---- helpers ----

  private async messagesIn(mailboxId: string, ranges: readonly UidRange[]): Promise<MessageRecord[]> {
    const byUid = new Map<number, MessageRecord>();
    for (const range of ranges) for await (const message of this.listMessages(mailboxId, range)) byUid.set(message.uid, message);
    return [...byUid.values()].sort((a, b) => a.uid - b.uid);
  }

  /** Single-partition unlogged batches (all statements of one call share the partition key). */
  private async batches(statements: Statement[]): Promise<void> {
    for (let i = 0; i < statements.length; i += BATCH_SIZE) {
      await this.session.client.batch(statements.slice(i, i + BATCH_SIZE), { prepare: true, logged: false, isIdempotent: true });
    }
  }

  /** Runs read-modify-write operations of one mailbox one after the other on this node. */
  private async locked<T>(mailboxId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(mailboxId) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => current);
    this.locks.set(mailboxId, chained);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.locks.get(mailboxId) === chained) this.locks.delete(mailboxId);
    }
  }
}

function newMessage(mailboxId: string, uid: number, modSeq: number, messageId: string, input: AppendInput): MessageRecord {
  return {
    mailboxId,
    uid,
    modSeq,
    messageId,
    threadId: input.threadId,
    blobId: input.blobId,
    size: input.size,
    internalDate: input.internalDate,
    savedDate: input.savedDate,
    flags: input.flags,
    ...(input.headerPrefix && input.headerPrefix.length > 0 ? { headerPrefix: input.headerPrefix } : {}),
  };
}

/**
 * Rows without a blob id are not messages: an update racing with a removal can leave such a
 * fragment (an upsert on a deleted row), and readers must not show it.
 */
function toMessage(row: types.Row): MessageRecord | null {
  const blobId = row.get('blob_id') as string | null;
  if (blobId === null) return null;
  const messageId = String(row.get('message_id'));
  const threadId = row.get('thread_id');
  const headerPrefix = row.get('header_prefix') as Buffer | null;
  return {
    mailboxId: String(row.get('mailbox_id')),
    uid: toNumber(row.get('uid')),
    modSeq: toNumber(row.get('modseq')),
    messageId,
    threadId: threadId === null ? messageId : String(threadId),
    blobId,
    size: toNumber(row.get('size')),
    internalDate: row.get('internal_date') as Date,
    savedDate: (row.get('saved_date') as Date | null) ?? (row.get('internal_date') as Date),
    flags: (row.get('flags') as string[] | null) ?? [],
    ...(headerPrefix && headerPrefix.length > 0 ? { headerPrefix } : {}),
  };
}

function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  return (value as types.Long).toNumber();
}

async function mapConcurrently<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker));
  return out;
}
