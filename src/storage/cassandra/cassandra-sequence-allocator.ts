import { errors, types } from 'cassandra-driver';
import { NotFoundError, TemporaryError } from '../../core/errors';
import type { CassandraSession } from './cassandra-session';

/** Compare-and-set rounds before giving up with a TemporaryError (each lost round means another node won). */
const MAX_CAS_ATTEMPTS = 50;
/** Allocations coalesced into one LWT; bounds the UIDs lost if the node dies right after the LWT. */
const MAX_BATCH = 100;
/** Upper bound of the random pause between lost rounds, so nodes do not retry in lock-step. */
const MAX_BACKOFF_MS = 50;

export interface Allocation {
  /** The UID allocated, or 0 when none was asked for. */
  uid: number;
  modSeq: number;
}

interface Sequence {
  nextUid: number;
  highestModSeq: number;
}

interface Pending {
  wantsUid: boolean;
  resolve(allocation: Allocation): void;
  reject(err: unknown): void;
}

/**
 * Allocates UIDs and MODSEQs from the `mailbox_sequence` row with a lightweight transaction
 * (`UPDATE … IF next_uid = ? AND highest_modseq = ?` in a retry loop, as James' UID and MODSEQ
 * providers do). Allocations requested on this node while an LWT is in flight for the same
 * mailbox are coalesced into the next single LWT, so concurrent appends on one node do not fight
 * each other through Paxos; only nodes contend, and a lost round returns the winner's values.
 *
 * A UID or MODSEQ allocated and then not used (the caller failed) is skipped: IMAP requires UIDs
 * and MODSEQs to increase, not to be contiguous.
 */
export class SequenceAllocator {
  private readonly pending = new Map<string, Pending[]>();
  private readonly selectQuery: string;
  private readonly casQuery: string;

  constructor(private readonly session: CassandraSession) {
    const table = session.table('mailbox_sequence');
    this.selectQuery = `SELECT next_uid, highest_modseq FROM ${table} WHERE mailbox_id = ?`;
    this.casQuery = `UPDATE ${table} SET next_uid = ?, highest_modseq = ? WHERE mailbox_id = ? IF next_uid = ? AND highest_modseq = ?`;
  }

  /** Creates the row of a new mailbox (LWT too: this row is never written without Paxos). */
  async initialize(mailboxId: string): Promise<void> {
    await this.session.execute(
      `INSERT INTO ${this.session.table('mailbox_sequence')} (mailbox_id, next_uid, highest_modseq) VALUES (?, 1, 0) IF NOT EXISTS`,
      [mailboxId],
    );
  }

  /** Current values, read through Paxos (LOCAL_SERIAL) so an in-flight allocation is settled first. */
  async current(mailboxId: string): Promise<Sequence | null> {
    return this.read(mailboxId, types.consistencies.localSerial);
  }

  /** Allocates one MODSEQ, and one UID when `wantsUid`. NotFoundError when the mailbox does not exist. */
  allocate(mailboxId: string, wantsUid: boolean): Promise<Allocation> {
    return new Promise((resolve, reject) => {
      const request: Pending = { wantsUid, resolve, reject };
      const queue = this.pending.get(mailboxId);
      if (queue) {
        queue.push(request);
        return;
      }
      this.pending.set(mailboxId, [request]);
      void this.drain(mailboxId);
    });
  }

  private async drain(mailboxId: string): Promise<void> {
    const queue = this.pending.get(mailboxId) as Pending[];
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const base = await this.reserve(mailboxId, batch.filter((r) => r.wantsUid).length, batch.length);
        let uid = base.nextUid;
        let modSeq = base.highestModSeq;
        for (const request of batch) {
          modSeq += 1;
          request.resolve({ uid: request.wantsUid ? uid++ : 0, modSeq });
        }
      } catch (err) {
        for (const request of batch) request.reject(err);
      }
    }
    this.pending.delete(mailboxId);
  }

  /** Moves the row forward by `uids` and `modSeqs`; returns the values before the move. */
  private async reserve(mailboxId: string, uids: number, modSeqs: number): Promise<Sequence> {
    let current = await this.read(mailboxId, types.consistencies.localQuorum);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      if (!current) throw new NotFoundError(`Mailbox ${mailboxId} not found`);
      try {
        const result = await this.session.execute(this.casQuery, [
          current.nextUid + uids,
          current.highestModSeq + modSeqs,
          mailboxId,
          current.nextUid,
          current.highestModSeq,
        ]);
        if (result.wasApplied()) return current;
        // A lost round returns the row as the winner left it: retry from there without a read.
        current = toSequence(result.first());
      } catch (err) {
        if (!isUncertainWrite(err)) throw err;
        // The LWT may or may not have been applied: settle through Paxos and retry. If it was
        // applied, its values are skipped, which IMAP allows.
        current = await this.read(mailboxId, types.consistencies.localSerial);
      }
      await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt));
    }
    throw new TemporaryError(`Could not allocate a UID/MODSEQ for mailbox ${mailboxId}: too much contention`);
  }

  private async read(mailboxId: string, consistency: number): Promise<Sequence | null> {
    const result = await this.session.execute(this.selectQuery, [mailboxId], { consistency });
    return toSequence(result.first());
  }
}

function toSequence(row: types.Row | undefined | null): Sequence | null {
  const nextUid = row?.get('next_uid') as types.Long | null | undefined;
  const highestModSeq = row?.get('highest_modseq') as types.Long | null | undefined;
  if (nextUid === null || nextUid === undefined || highestModSeq === null || highestModSeq === undefined) return null;
  return { nextUid: nextUid.toNumber(), highestModSeq: highestModSeq.toNumber() };
}

/** Timeouts during an LWT leave its outcome unknown (Cassandra's CAS write/read timeouts, or ours). */
function isUncertainWrite(err: unknown): boolean {
  if (err instanceof errors.OperationTimedOutError) return true;
  if (err instanceof errors.ResponseError) {
    return err.code === types.responseErrorCodes.writeTimeout || err.code === types.responseErrorCodes.readTimeout;
  }
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
