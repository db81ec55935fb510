import { domainOf } from '../core/address';
import { OverQuotaError, QUOTA_RESOURCES, UNLIMITED, type QuotaChecker, type QuotaLimits, type QuotaResource, type QuotaStore, type QuotaUsage } from './api/quota';

/** The counters of a user's mailboxes, summed: the source of truth usage is computed from. */
export interface MailboxTotals {
  ownerTotals(owner: string): Promise<{ messageCount: number; size: number }>;
}

/** Limits of every scope for one user, and the effective (computed) ones. */
export interface QuotaDetails {
  global: QuotaLimits;
  domain: QuotaLimits;
  user: QuotaLimits;
  /** User → domain → global precedence, per resource; absent: unlimited. */
  computed: QuotaLimits;
  usage: QuotaUsage;
}

/** Occupation ratios (James `OccupationRatioDTO`): 0 when unlimited. */
export interface Occupation {
  size: number;
  count: number;
  ratio: { size: number; count: number; max: number };
}

/**
 * A recompute writes what it read, then reads again: while the mailboxes changed in between
 * (another writer, another node), it writes again. Past this many rounds it gives up (the event
 * is retried by the bus, or the task reports the user as failed).
 */
export const MAX_RECOMPUTE_ROUNDS = 5;

/** Quota root of a user as IMAP shows it (RFC 9208 §3.2; James names it `#private&user`). */
export function quotaRootOf(user: string): string {
  return `#private&${user}`;
}

/** The user of a quota root, or null when it is not one (RFC 9208 GETQUOTA on an unknown root). */
export function userOfQuotaRoot(root: string): string | null {
  return root.startsWith('#private&') && root.length > '#private&'.length ? root.slice('#private&'.length) : null;
}

/** Limits resolution, usage, enforcement and recomputation (James' QuotaManager + CurrentQuotaCalculator). */
export class QuotaService implements QuotaChecker {
  constructor(
    readonly store: QuotaStore,
    private readonly mailboxes: MailboxTotals,
  ) {}

  async details(user: string): Promise<QuotaDetails> {
    const { global, domain: domainLimits, user: userLimits, usage } = await this.store.getUserQuota(user, domainOf(user) || null);
    const computed: QuotaLimits = {};
    for (const resource of QUOTA_RESOURCES) {
      const value = userLimits[resource] ?? domainLimits[resource] ?? global[resource];
      if (value !== undefined) computed[resource] = value;
    }
    return { global, domain: domainLimits, user: userLimits, computed, usage };
  }

  /** Limits of a domain and the effective ones (domain → global). */
  async domainDetails(domain: string): Promise<{ global: QuotaLimits; domain: QuotaLimits; computed: QuotaLimits }> {
    const [global, limits] = await Promise.all([this.store.getLimits('global', ''), this.store.getLimits('domain', domain)]);
    const computed: QuotaLimits = {};
    for (const resource of QUOTA_RESOURCES) {
      const value = limits[resource] ?? global[resource];
      if (value !== undefined) computed[resource] = value;
    }
    return { global, domain: limits, computed };
  }

  async checkAddition(owner: string, count: number, size: number): Promise<void> {
    const { computed, usage } = await this.details(owner);
    const exceeded = exceededResource(computed, usage, count, size);
    if (exceeded === 'count') throw new OverQuotaError(`Quota exceeded: ${owner} may store at most ${computed.count} messages`, 'count');
    if (exceeded === 'size') throw new OverQuotaError(`Quota exceeded: ${owner} may store at most ${computed.size} octets`, 'size');
  }

  /** True when storing one more message of `size` octets would exceed the user's quota (IsOverQuota matcher). */
  async isOverQuota(user: string, size: number): Promise<boolean> {
    const { computed, usage } = await this.details(user);
    return exceededResource(computed, usage, 1, size) !== null;
  }

  /** Usage summed over the user's mailboxes (the truth the stored usage is derived from). */
  async computeUsage(user: string): Promise<QuotaUsage> {
    const { messageCount, size } = await this.mailboxes.ownerTotals(user);
    return { count: messageCount, size };
  }

  /**
   * Stores the usage computed from the mailboxes. Idempotent, and safe when several writers run
   * at once: each one re-reads after writing and writes again until what it wrote is current, so
   * the last write is always followed by a check that it was right.
   *
   * `handedOver` is asked when the mailboxes changed after a write: true when another recompute of
   * the user is already queued behind this one, to start when it ends. That one writes later and
   * checks again, so this one stops there and returns the usage it read last (not yet stored).
   * Under steady delivery to one user, the changes otherwise outrun the rounds.
   */
  async recompute(user: string, options: { handedOver?: () => boolean } = {}): Promise<QuotaUsage> {
    let usage = await this.computeUsage(user);
    for (let round = 0; round < MAX_RECOMPUTE_ROUNDS; round++) {
      await this.store.setUsage(user, usage);
      const again = await this.computeUsage(user);
      if (again.count === usage.count && again.size === usage.size) return usage;
      if (options.handedOver?.()) return again;
      usage = again;
    }
    throw new Error(`The usage of ${user} kept changing during ${MAX_RECOMPUTE_ROUNDS} recomputations`);
  }
}

/** The resource an addition would exceed, or null. A missing or UNLIMITED limit never is. */
export function exceededResource(limits: QuotaLimits, usage: QuotaUsage, count: number, size: number): QuotaResource | null {
  if (isLimited(limits.count) && usage.count + count > (limits.count as number)) return 'count';
  if (isLimited(limits.size) && usage.size + size > (limits.size as number)) return 'size';
  return null;
}

export function isLimited(limit: number | undefined): boolean {
  return limit !== undefined && limit !== UNLIMITED;
}

/** James' occupation ratios: used / limit, 0 when unlimited; `max` the larger of the two. */
export function occupationOf(limits: QuotaLimits, usage: QuotaUsage): Occupation {
  const ratio = (used: number, limit: number | undefined): number => {
    if (!isLimited(limit)) return 0;
    // A zero limit: full as soon as anything is stored (JSON has no Infinity).
    if (limit === 0) return used > 0 ? 1 : 0;
    return used / (limit as number);
  };
  const count = ratio(usage.count, limits.count);
  const size = ratio(usage.size, limits.size);
  return { size: usage.size, count: usage.count, ratio: { size, count, max: Math.max(size, count) } };
}
