import { UNLIMITED, type QuotaStore } from '../../src/quota/api/quota';

export interface QuotaStoreTestee {
  store: QuotaStore;
  cleanup(): Promise<void>;
}

/** The QuotaStore port's behaviour, run against every adapter (James' MaxQuotaManager / CurrentQuotaManager contracts). */
export function describeQuotaStoreContract(name: string, makeTestee: () => Promise<QuotaStoreTestee>): void {
  describe(`QuotaStore contract: ${name}`, () => {
    let testee: QuotaStoreTestee;
    let store: QuotaStore;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.store;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('has no limit defined at any scope at first', async () => {
      expect(await store.getLimits('global', '')).toEqual({});
      expect(await store.getLimits('domain', 'example.com')).toEqual({});
      expect(await store.getLimits('user', 'bob@example.com')).toEqual({});
    });

    it('keeps each resource of each scope apart', async () => {
      await store.setLimit('global', '', 'count', 1000);
      await store.setLimit('domain', 'example.com', 'size', 5_000_000);
      await store.setLimit('user', 'bob@example.com', 'count', 10);
      await store.setLimit('user', 'bob@example.com', 'size', UNLIMITED);
      expect(await store.getLimits('global', '')).toEqual({ count: 1000 });
      expect(await store.getLimits('domain', 'example.com')).toEqual({ size: 5_000_000 });
      expect(await store.getLimits('domain', 'example.org')).toEqual({});
      expect(await store.getLimits('user', 'bob@example.com')).toEqual({ count: 10, size: UNLIMITED });
      expect(await store.getLimits('user', 'alice@example.com')).toEqual({});
    });

    it("reads a user's limits of every scope and usage at once, leaving other users and domains out", async () => {
      expect(await store.getUserQuota('bob@example.com', 'example.com')).toEqual({ global: {}, domain: {}, user: {}, usage: { count: 0, size: 0 } });
      await store.setLimit('global', '', 'count', 1000);
      await store.setLimit('domain', 'example.com', 'size', 5_000_000);
      await store.setLimit('domain', 'example.org', 'count', 7);
      await store.setLimit('user', 'bob@example.com', 'count', 10);
      await store.setLimit('user', 'bob@example.com', 'size', UNLIMITED);
      await store.setLimit('user', 'alice@example.com', 'count', 3);
      await store.setUsage('bob@example.com', { count: 4, size: 2 ** 33 });
      expect(await store.getUserQuota('bob@example.com', 'example.com')).toEqual({
        global: { count: 1000 },
        domain: { size: 5_000_000 },
        user: { count: 10, size: UNLIMITED },
        usage: { count: 4, size: 2 ** 33 },
      });
      // A user whose name has no domain part: no domain limits apply.
      expect(await store.getUserQuota('bob', null)).toEqual({ global: { count: 1000 }, domain: {}, user: {}, usage: { count: 0, size: 0 } });
    });

    it('replaces a limit and removes it with null', async () => {
      await store.setLimit('user', 'bob@example.com', 'count', 10);
      await store.setLimit('user', 'bob@example.com', 'count', 20);
      expect(await store.getLimits('user', 'bob@example.com')).toEqual({ count: 20 });
      await store.setLimit('user', 'bob@example.com', 'count', null);
      expect(await store.getLimits('user', 'bob@example.com')).toEqual({});
      await expect(store.setLimit('user', 'bob@example.com', 'count', null)).resolves.toBeUndefined();
    });

    it('keeps limits beyond 32 bits exactly', async () => {
      const big = 2 ** 40 + 7;
      await store.setLimit('global', '', 'size', big);
      expect((await store.getLimits('global', '')).size).toBe(big);
    });

    it('reports zero usage for a user without any, and replaces usage on write', async () => {
      expect(await store.getUsage('bob@example.com')).toEqual({ count: 0, size: 0 });
      await store.setUsage('bob@example.com', { count: 3, size: 300 });
      await store.setUsage('bob@example.com', { count: 2, size: 2 ** 33 });
      expect(await store.getUsage('bob@example.com')).toEqual({ count: 2, size: 2 ** 33 });
      expect(await store.getUsage('alice@example.com')).toEqual({ count: 0, size: 0 });
    });
  });
}
