/** Limits of the login throttle (configuration `auth.*`). */
export interface ThrottleSettings {
  /** Failed logins of one account within the window before further attempts are refused. */
  maxFailuresPerAccount: number;
  /** Failed logins from one remote address within the window before further attempts are refused. */
  maxFailuresPerAddress: number;
  /** Sliding window, in seconds. */
  windowSeconds: number;
}

/**
 * Most keys (accounts + addresses) tracked at once: a spray of logins over random names must not
 * grow memory without bound. The oldest entries are dropped first.
 */
export const MAX_TRACKED_KEYS = 100_000;

/**
 * Counts failed logins per account and per remote address in a sliding window, in the memory of
 * this process (the embedded profile; the distributed profile uses SharedLoginThrottle so the
 * budget is cluster-wide). Accounts that do not
 * exist are counted like the others, so the throttle reveals nothing about which accounts exist.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
    private readonly maxTrackedKeys: number = MAX_TRACKED_KEYS,
  ) {}

  /** Why attempts are refused now (`account` or `address`), or null. */
  blocked(account: string, address: string): 'account' | 'address' | null {
    if (this.count(`a:${account}`) >= this.settings.maxFailuresPerAccount) return 'account';
    if (this.count(`r:${address}`) >= this.settings.maxFailuresPerAddress) return 'address';
    return null;
  }

  recordFailure(account: string, address: string): void {
    for (const key of [`a:${account}`, `r:${address}`]) {
      const list = this.live(key);
      list.push(this.now());
      this.failures.delete(key);
      this.failures.set(key, list);
    }
    if (this.failures.size > this.maxTrackedKeys) {
      // Drop the oldest tenth in one pass: evicting one key per call would rescan deleted slots each time.
      let excess = this.failures.size - Math.floor(this.maxTrackedKeys * 0.9);
      for (const key of this.failures.keys()) {
        if (excess-- <= 0) break;
        this.failures.delete(key);
      }
    }
  }

  /** A successful login clears the account's failures (not the address's: one good password must not reset a spray). */
  recordSuccess(account: string): void {
    this.failures.delete(`a:${account}`);
  }

  private count(key: string): number {
    return this.live(key).length;
  }

  private live(key: string): number[] {
    const since = this.now() - this.settings.windowSeconds * 1000;
    const list = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }
}
