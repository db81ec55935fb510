/**
 * Quotas (James' MaxQuotaManager + CurrentQuotaManager). A limit is a non-negative integer,
 * `UNLIMITED` (-1, James' WebAdmin value), or absent (`undefined`: not defined at that scope).
 * The quota root is the user (James `#private&user@domain`): usage counts every mailbox the
 * user owns.
 */
export const UNLIMITED = -1;

/** Where a limit is defined; the effective limit is the user's, else the domain's, else the global one. */
export type QuotaScope = 'global' | 'domain' | 'user';
export type QuotaResource = 'count' | 'size';
export const QUOTA_RESOURCES: readonly QuotaResource[] = ['count', 'size'];

/** Limits defined at one scope; a missing resource is not defined there. */
export interface QuotaLimits {
  count?: number;
  size?: number;
}

/** Current usage of a quota root: messages and octets. */
export interface QuotaUsage {
  count: number;
  size: number;
}

/** Largest limit accepted (James stores limits as Java longs; JSON numbers are exact up to 2^53). */
export const MAX_QUOTA_LIMIT = Number.MAX_SAFE_INTEGER;

/** Storage of limits (per scope) and of current usage (per user). */
export interface QuotaStore {
  /** Limits of one scope; `key` is '' for global, the domain, or the user (lower-case). */
  getLimits(scope: QuotaScope, key: string): Promise<QuotaLimits>;
  /** Defines (a number or UNLIMITED) or removes (null) one limit. */
  setLimit(scope: QuotaScope, key: string, resource: QuotaResource, value: number | null): Promise<void>;
  /** Usage of a user; zero when nothing was recorded. */
  getUsage(user: string): Promise<QuotaUsage>;
  /** Replaces the usage of a user (the listener and the recompute task write absolute values). */
  setUsage(user: string, usage: QuotaUsage): Promise<void>;
  /**
   * What a check of one user reads, at once: the global limits, those of `domain` (none when
   * null), the user's own, and the user's usage (asked for each recipient of each mail).
   */
  getUserQuota(user: string, domain: string | null): Promise<UserQuota>;
}

/** The limits of each scope that applies to a user, and the user's usage. */
export interface UserQuota {
  global: QuotaLimits;
  domain: QuotaLimits;
  user: QuotaLimits;
  usage: QuotaUsage;
}

/** What the mailbox manager asks before storing a message (James `QuotaChecker`). */
export interface QuotaChecker {
  /** Throws OverQuotaError when adding `count` messages of `size` octets would exceed the owner's quota. */
  checkAddition(owner: string, count: number, size: number): Promise<void>;
}

export { OverQuotaError } from '../../mailbox/api/errors';

/** Validates a limit given by an admin: a non-negative integer or UNLIMITED (-1). */
export function isValidLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= UNLIMITED && value <= MAX_QUOTA_LIMIT;
}
