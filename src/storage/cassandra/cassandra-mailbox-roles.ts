/**
 * One mailbox per (owner, special-use role) on Cassandra, which has no unique constraints: the
 * table `mailbox_role` — `(owner)`, role → mailbox_id, claimed_at — is written with LWT only
 * (`IF NOT EXISTS` to claim, `IF mailbox_id = ?` to take over or release), so of concurrent
 * creates with one role exactly one holds it. The claim is the truth; the `role` column of the
 * `mailbox` row is set only once the claim is held (readers never see two holders).
 *
 * A claim can outlive its mailbox when a node dies mid-create or mid-delete. A claim is *stale*,
 * and may be taken over, when its mailbox row is gone, or when — ROLE_CLAIM_GRACE_MS after it
 * was made — the mailbox is not reachable by its name or does not carry the role.
 */
import type { Logger } from 'pino';
import type { MailboxRole } from '../../mailbox/api/mailbox-store';
import type { CassandraSession } from './cassandra-session';

/**
 * How long a claim whose mailbox is not (yet) complete is presumed to belong to a create still in
 * flight. Twice the client-side request timeout (12 s) and then some: a live writer finishes within it.
 */
export const ROLE_CLAIM_GRACE_MS = 30_000;

/** Rows read per page while scanning the `mailbox` table (schema migration 4). */
const SCAN_PAGE_SIZE = 1_000;

export class MailboxRoleClaims {
  private readonly q: Record<string, string>;

  constructor(
    private readonly session: CassandraSession,
    private readonly now: () => number = Date.now,
  ) {
    const t = (name: string) => session.table(name);
    this.q = {
      claim: `INSERT INTO ${t('mailbox_role')} (owner, role, mailbox_id, claimed_at) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
      takeOver: `UPDATE ${t('mailbox_role')} SET mailbox_id = ?, claimed_at = ? WHERE owner = ? AND role = ? IF mailbox_id = ?`,
      release: `DELETE FROM ${t('mailbox_role')} WHERE owner = ? AND role = ? IF mailbox_id = ?`,
      select: `SELECT mailbox_id, claimed_at FROM ${t('mailbox_role')} WHERE owner = ? AND role = ?`,
      selectMailbox: `SELECT owner, name, role, writetime(owner) AS created FROM ${t('mailbox')} WHERE id = ?`,
      selectPath: `SELECT mailbox_id FROM ${t('mailbox_path')} WHERE owner = ? AND name = ?`,
    };
  }

  /** Claims `role` of `owner` for the mailbox; false when another live mailbox holds it. */
  async claim(owner: string, role: MailboxRole, mailboxId: string, claimedAt: number = this.now()): Promise<boolean> {
    const result = await this.session.execute(this.q.claim, [owner, role, mailboxId, new Date(claimedAt)]);
    if (result.wasApplied()) return true;
    const row = result.first();
    const holder = String(row.get('mailbox_id'));
    if (holder === mailboxId) return true;
    if (!(await this.isStale(role, holder, toMillis(row.get('claimed_at'))))) return false;
    return this.takeOver(owner, role, holder, mailboxId, claimedAt);
  }

  /** Releases the claim if this mailbox holds it (a claim taken over since is left alone). */
  async release(owner: string, role: MailboxRole, mailboxId: string): Promise<void> {
    await this.session.execute(this.q.release, [owner, role, mailboxId]);
  }

  /** The mailbox holding the claim, or null. */
  async holder(owner: string, role: MailboxRole): Promise<string | null> {
    const row = (await this.session.execute(this.q.select, [owner, role])).first();
    return row ? String(row.get('mailbox_id')) : null;
  }

  private async takeOver(owner: string, role: MailboxRole, from: string, to: string, claimedAt: number): Promise<boolean> {
    const result = await this.session.execute(this.q.takeOver, [to, new Date(claimedAt), owner, role, from]);
    return result.wasApplied();
  }

  private async isStale(role: MailboxRole, holder: string, claimedAt: number): Promise<boolean> {
    const row = (await this.session.execute(this.q.selectMailbox, [holder])).first();
    // A create writes the mailbox row before it claims: no row means the mailbox was deleted.
    if (!row) return true;
    if (this.now() - claimedAt < ROLE_CLAIM_GRACE_MS) return false;
    if (row.get('role') !== role) return true;
    const path = (await this.session.execute(this.q.selectPath, [row.get('owner'), row.get('name')])).first();
    return !path || String(path.get('mailbox_id')) !== holder;
  }

  /**
   * Schema migration 4 (data step): claims the roles of the mailboxes created before claims
   * existed. Where several mailboxes of one owner carry one role, the oldest (first written) that
   * is reachable by its name keeps it and the others lose it, each logged (see resolveDuplicates).
   * Streams the `mailbox` table (constant memory, one LWT per mailbox with a role, sequential:
   * at a few ms per LWT, about an hour per million such mailboxes — an estimate, not measured); idempotent, so a node that dies mid-way reruns it.
   */
  async claimExisting(logger?: Pick<Logger, 'warn' | 'info'>): Promise<{ claimed: number; cleared: number }> {
    let claimed = 0;
    let cleared = 0;
    const clearRole = async (mailbox: { id: string; owner: string; name: string; role: string }, keptId: string) => {
      await this.session.execute(`UPDATE ${this.session.table('mailbox')} SET role = null WHERE id = ?`, [mailbox.id]);
      cleared++;
      logger?.warn(
        { owner: mailbox.owner, mailbox: mailbox.name, mailboxId: mailbox.id, role: mailbox.role, keptMailboxId: keptId },
        'duplicate special-use role cleared by the schema migration (the oldest mailbox keeps it)',
      );
    };
    for await (const row of this.session.rows(`SELECT id, owner, name, role, writetime(owner) AS created FROM ${this.session.table('mailbox')}`, [], SCAN_PAGE_SIZE)) {
      const role = row.get('role') as MailboxRole | null;
      if (role === null) continue;
      const mailbox = { id: String(row.get('id')), owner: row.get('owner') as string, name: row.get('name') as string, role };
      const created = micros(row.get('created'));
      const result = await this.session.execute(this.q.claim, [mailbox.owner, role, mailbox.id, new Date(Math.floor(created / 1000))]);
      if (result.wasApplied()) {
        claimed++;
        continue;
      }
      const holder = String(result.first().get('mailbox_id'));
      if (holder === mailbox.id) continue;
      // The page may predate a clearing done earlier in this scan: decide on the row as it is now.
      const current = (await this.session.execute(this.q.selectMailbox, [mailbox.id])).first();
      if (!current || current.get('role') !== role) continue;
      const outcome = await this.resolveDuplicates(mailbox, clearRole);
      claimed += outcome.claimed;
    }
    if (claimed + cleared > 0) logger?.info({ claimed, cleared }, 'special-use roles claimed by the schema migration');
    return { claimed, cleared };
  }

  /**
   * Settles one (owner, role) held by several mailboxes at once, so every log line names the
   * final keeper: among the owner's mailboxes reachable by name (one slice of `mailbox_path`)
   * that carry the role, the first written keeps it; the claim moves to it; every other
   * carrier, `scanned` included when it is unreachable, loses the role.
   */
  private async resolveDuplicates(
    scanned: { id: string; owner: string; name: string; role: MailboxRole },
    clearRole: (mailbox: { id: string; owner: string; name: string; role: string }, keptId: string) => Promise<void>,
  ): Promise<{ claimed: number }> {
    const { owner, role } = scanned;
    const members: { id: string; name: string; created: number }[] = [];
    for await (const path of this.session.rows(`SELECT mailbox_id FROM ${this.session.table('mailbox_path')} WHERE owner = ?`, [owner], SCAN_PAGE_SIZE)) {
      const id = String(path.get('mailbox_id'));
      const row = (await this.session.execute(this.q.selectMailbox, [id])).first();
      if (row && row.get('role') === role) members.push({ id, name: row.get('name') as string, created: micros(row.get('created')) });
    }
    members.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const losers = members.some((m) => m.id === scanned.id) ? [...members] : [...members, { id: scanned.id, name: scanned.name, created: 0 }];
    let claimed = 0;
    let keeper = await this.holder(owner, role);
    const winner = members[0];
    if (winner && keeper !== winner.id) {
      const moved = keeper === null ? (await this.session.execute(this.q.claim, [owner, role, winner.id, new Date(Math.floor(winner.created / 1000))])).wasApplied() : await this.takeOver(owner, role, keeper, winner.id, Math.floor(winner.created / 1000));
      if (moved) claimed++;
      keeper = await this.holder(owner, role);
    }
    if (keeper === null) return { claimed };
    for (const loser of losers) if (loser.id !== keeper) await clearRole({ id: loser.id, owner, name: loser.name, role }, keeper);
    return { claimed };
  }
}

function toMillis(value: unknown): number {
  return value instanceof Date ? value.getTime() : 0;
}

/** `writetime()`, in microseconds (a Long; exact in a double until the year 2255); 0 when missing. */
function micros(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return Number(String(value));
}
