/**
 * The first unseen message of a mailbox in O(1) (James' `FirstUnseenDAO`): the table
 * `message_first_unseen` — `(mailbox_id)`, uid ↑ — holds one row per message without `\Seen`.
 * It is written beside the `message` rows by the mailbox store: inserted on append/copy/move-in
 * of an unseen message and when `\Seen` is removed, deleted when `\Seen` is added, on expunge,
 * move-out and with its mailbox. Every write carries `USING TIMESTAMP <modseq>` like the
 * `message` table, so concurrent changes on several nodes settle in MODSEQ order; a row left
 * stale all the same (a node died mid-change) is skipped by `first`, which checks the message.
 */
import type { Logger } from 'pino';
import { types } from 'cassandra-driver';
import { SEEN, hasFlag } from '../../mailbox/api/flags';
import type { CassandraSession } from './cassandra-session';

/** Rows read per page while scanning the `message` table (schema migration 5). */
const SCAN_PAGE_SIZE = 1_000;
/** Entries read at once by `first`: more than one only matters when stale entries lead. */
const FIRST_PAGE_SIZE = 16;
/** Index writes in flight at once during the backfill. */
const BACKFILL_CONCURRENCY = 64;

interface Statement {
  query: string;
  params: unknown[];
}

export class FirstUnseenIndex {
  private readonly q: Record<string, string>;

  constructor(private readonly session: CassandraSession) {
    const t = (name: string) => session.table(name);
    this.q = {
      insert: `INSERT INTO ${t('message_first_unseen')} (mailbox_id, uid) VALUES (?, ?) USING TIMESTAMP ?`,
      delete: `DELETE FROM ${t('message_first_unseen')} USING TIMESTAMP ? WHERE mailbox_id = ? AND uid = ?`,
      deleteAll: `DELETE FROM ${t('message_first_unseen')} WHERE mailbox_id = ?`,
      select: `SELECT uid FROM ${t('message_first_unseen')} WHERE mailbox_id = ?`,
      selectMessage: `SELECT flags, blob_id FROM ${t('message')} WHERE mailbox_id = ? AND uid = ?`,
    };
  }

  /** The message `uid` of the mailbox is unseen as of `modSeq`. */
  unseen(mailboxId: string, uid: number, modSeq: number): Statement {
    return { query: this.q.insert, params: [mailboxId, uid, modSeq] };
  }

  /** The message `uid` is seen, expunged or moved out as of `modSeq`. */
  gone(mailboxId: string, uid: number, modSeq: number): Statement {
    return { query: this.q.delete, params: [modSeq, mailboxId, uid] };
  }

  async deleteMailbox(mailboxId: string): Promise<void> {
    await this.session.execute(this.q.deleteAll, [mailboxId], { isIdempotent: true });
  }

  /**
   * The lowest UID of an unseen message: the first entry, checked against its message (one point
   * read). Entries whose message is gone or seen (left by a node that died mid-change) are skipped.
   */
  async first(mailboxId: string): Promise<number | null> {
    for await (const row of this.session.rows(this.q.select, [mailboxId], FIRST_PAGE_SIZE)) {
      const uid = row.get('uid') as types.Long;
      const message = (await this.session.execute(this.q.selectMessage, [mailboxId, uid])).first();
      if (!message || message.get('blob_id') === null) continue;
      const flags = (message.get('flags') as string[] | null) ?? [];
      if (!hasFlag(flags, SEEN)) return uid.toNumber();
    }
    return null;
  }

  /**
   * Schema migration 5 (data step): an entry for every unseen message stored before the index
   * existed. Streams the `message` table page by page (constant memory); each entry is written at
   * its message's MODSEQ, so a flag change or expunge made meanwhile by a node already writing
   * the index (at a higher MODSEQ) wins over it. Idempotent: a node that dies mid-way reruns it.
   */
  async backfill(logger?: Pick<Logger, 'info'>): Promise<{ indexed: number }> {
    let indexed = 0;
    let pending: unknown[][] = [];
    const flush = async (): Promise<void> => {
      await Promise.all(pending.map((params) => this.session.execute(this.q.insert, params, { isIdempotent: true })));
      indexed += pending.length;
      pending = [];
    };
    const query = `SELECT mailbox_id, uid, modseq, flags, blob_id FROM ${this.session.table('message')}`;
    for await (const row of this.session.rows(query, [], SCAN_PAGE_SIZE)) {
      if (row.get('blob_id') === null) continue;
      const flags = (row.get('flags') as string[] | null) ?? [];
      if (hasFlag(flags, SEEN)) continue;
      pending.push([row.get('mailbox_id'), row.get('uid'), (row.get('modseq') as types.Long | null) ?? types.Long.ZERO]);
      if (pending.length >= BACKFILL_CONCURRENCY) await flush();
    }
    await flush();
    if (indexed > 0) logger?.info({ indexed }, 'first-unseen index backfilled by the schema migration');
    return { indexed };
  }
}
