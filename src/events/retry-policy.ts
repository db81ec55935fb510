/**
 * How a group listener's failures are retried (James' `RetryBackoffConfiguration`): attempt
 * `n + 1` (n = 0 … maxRetries - 1) comes `firstBackoffMs × 2^n` after the failure of attempt n;
 * after `maxRetries` retries the event goes to the group's dead letters.
 */
export interface RetryPolicy {
  maxRetries: number;
  firstBackoffMs: number;
}

/** James' defaults: 3 retries, 100 ms first back-off (100, 200, 400 ms). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, firstBackoffMs: 100 };

/** Upper bound of one back-off, so a large `maxRetries` does not park an event for days. */
export const MAX_BACKOFF_MS = 10 * 60_000;

/** Delay before retry number `retry` (0-based). */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  return Math.min(MAX_BACKOFF_MS, policy.firstBackoffMs * 2 ** retry);
}
