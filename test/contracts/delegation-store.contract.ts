import type { DelegationStore } from '../../src/users/api/delegation-store';

export interface DelegationStoreTestee {
  store: DelegationStore;
  cleanup(): Promise<void>;
}

/** The DelegationStore port's behaviour, run against every adapter (James' DelegationStoreContract). */
export function describeDelegationStoreContract(name: string, makeTestee: () => Promise<DelegationStoreTestee>): void {
  describe(`DelegationStore contract: ${name}`, () => {
    let testee: DelegationStoreTestee;
    let store: DelegationStore;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.store;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('lists the users authorized on a base user, sorted, and the reverse', async () => {
      await store.addAuthorizedUser('boss@example.com', 'zoe@example.com');
      await store.addAuthorizedUser('boss@example.com', 'anna@example.com');
      await store.addAuthorizedUser('other@example.com', 'anna@example.com');
      expect(await store.authorizedUsers('boss@example.com')).toEqual(['anna@example.com', 'zoe@example.com']);
      expect(await store.delegatedUsers('anna@example.com')).toEqual(['boss@example.com', 'other@example.com']);
      expect(await store.delegatedUsers('zoe@example.com')).toEqual(['boss@example.com']);
    });

    it('treats adding an existing delegation as a no-op', async () => {
      await store.addAuthorizedUser('boss@example.com', 'anna@example.com');
      await store.addAuthorizedUser('boss@example.com', 'anna@example.com');
      expect(await store.authorizedUsers('boss@example.com')).toEqual(['anna@example.com']);
    });

    it('removes one delegation from both directions; removing a missing one is a no-op', async () => {
      await store.addAuthorizedUser('boss@example.com', 'anna@example.com');
      await store.addAuthorizedUser('boss@example.com', 'zoe@example.com');
      await store.removeAuthorizedUser('boss@example.com', 'anna@example.com');
      await expect(store.removeAuthorizedUser('boss@example.com', 'anna@example.com')).resolves.toBeUndefined();
      expect(await store.authorizedUsers('boss@example.com')).toEqual(['zoe@example.com']);
      expect(await store.delegatedUsers('anna@example.com')).toEqual([]);
    });

    it('clears every delegation of a base user, and only those', async () => {
      await store.addAuthorizedUser('boss@example.com', 'anna@example.com');
      await store.addAuthorizedUser('boss@example.com', 'zoe@example.com');
      await store.addAuthorizedUser('other@example.com', 'anna@example.com');
      await store.clear('boss@example.com');
      expect(await store.authorizedUsers('boss@example.com')).toEqual([]);
      expect(await store.delegatedUsers('anna@example.com')).toEqual(['other@example.com']);
      expect(await store.delegatedUsers('zoe@example.com')).toEqual([]);
    });

    it('answers empty lists for users without delegations', async () => {
      expect(await store.authorizedUsers('nobody@example.com')).toEqual([]);
      expect(await store.delegatedUsers('nobody@example.com')).toEqual([]);
    });
  });
}
