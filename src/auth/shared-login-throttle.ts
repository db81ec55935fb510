import type { LoginFailureStore } from './api/login-failure-store';
import type { ThrottleSettings } from './login-throttle';

/**
 * The login throttle of a cluster: the same rules as LoginThrottle (per account and per remote
 * address, sliding window, a success clears the account only), counted in a LoginFailureStore
 * every node shares.
 */
export class SharedLoginThrottle {
  constructor(
    private readonly settings: ThrottleSettings,
    private readonly store: LoginFailureStore,
    private readonly now: () => number = Date.now,
  ) {}

  async blocked(account: string, address: string): Promise<'account' | 'address' | null> {
    const since = this.now() - this.settings.windowSeconds * 1000;
    const [accountFailures, addressFailures] = await Promise.all([this.store.count(`a:${account}`, since), this.store.count(`r:${address}`, since)]);
    if (accountFailures >= this.settings.maxFailuresPerAccount) return 'account';
    if (addressFailures >= this.settings.maxFailuresPerAddress) return 'address';
    return null;
  }

  async recordFailure(account: string, address: string): Promise<void> {
    const at = this.now();
    await Promise.all([this.store.record(`a:${account}`, at, this.settings.windowSeconds), this.store.record(`r:${address}`, at, this.settings.windowSeconds)]);
  }

  async recordSuccess(account: string): Promise<void> {
    await this.store.clear(`a:${account}`);
  }
}
