import type { Mapping } from '../../src/rrt/api/mapping';
import type { RecipientRewriteTableStore } from '../../src/rrt/api/recipient-rewrite-table-store';

export interface RrtStoreTestee {
  store: RecipientRewriteTableStore;
  cleanup(): Promise<void>;
}

const forwardToBob: Mapping = { type: 'Forward', value: 'bob@example.com' };
const aliasOfAlice: Mapping = { type: 'Alias', value: 'alice@example.com' };

/** The RecipientRewriteTableStore port's behaviour, run against every adapter (James' RecipientRewriteTableContract, storage part). */
export function describeRrtStoreContract(name: string, makeTestee: () => Promise<RrtStoreTestee>): void {
  describe(`RecipientRewriteTableStore contract: ${name}`, () => {
    let testee: RrtStoreTestee;
    let store: RecipientRewriteTableStore;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.store;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('returns the mappings of a source once added, ordered by type then value', async () => {
      await store.addMapping('alice@example.com', { type: 'Group', value: 'zed@example.com' });
      await store.addMapping('alice@example.com', forwardToBob);
      await store.addMapping('alice@example.com', { type: 'Forward', value: 'alice@example.com' });
      expect(await store.getMappings('alice@example.com')).toEqual([
        { type: 'Forward', value: 'alice@example.com' },
        forwardToBob,
        { type: 'Group', value: 'zed@example.com' },
      ]);
    });

    it('keeps address and domain sources apart', async () => {
      await store.addMapping('example.com', { type: 'DomainAlias', value: 'example.org' });
      await store.addMapping('user@example.com', forwardToBob);
      expect(await store.getMappings('example.com')).toEqual([{ type: 'DomainAlias', value: 'example.org' }]);
      expect(await store.getMappings('user@example.com')).toEqual([forwardToBob]);
      expect(await store.getMappings('other@example.com')).toEqual([]);
    });

    it('treats adding an existing mapping as a no-op', async () => {
      await store.addMapping('alice@example.com', forwardToBob);
      await store.addMapping('alice@example.com', forwardToBob);
      expect(await store.getMappings('alice@example.com')).toEqual([forwardToBob]);
      expect(await store.listSources(forwardToBob)).toEqual(['alice@example.com']);
    });

    it('removes one mapping and keeps the others; removing a missing mapping is a no-op', async () => {
      await store.addMapping('alice@example.com', forwardToBob);
      await store.addMapping('alice@example.com', { type: 'Group', value: 'carol@example.com' });
      await store.removeMapping('alice@example.com', forwardToBob);
      await expect(store.removeMapping('alice@example.com', forwardToBob)).resolves.toBeUndefined();
      expect(await store.getMappings('alice@example.com')).toEqual([{ type: 'Group', value: 'carol@example.com' }]);
      expect(await store.listSources(forwardToBob)).toEqual([]);
    });

    it('tells a mapping of one type from the same value of another type', async () => {
      await store.addMapping('a@example.com', { type: 'Alias', value: 'x@example.com' });
      await store.removeMapping('a@example.com', { type: 'Forward', value: 'x@example.com' });
      expect(await store.getMappings('a@example.com')).toEqual([{ type: 'Alias', value: 'x@example.com' }]);
    });

    it('finds the sources of a mapping (reverse lookup), sorted', async () => {
      await store.addMapping('b.alias@example.com', aliasOfAlice);
      await store.addMapping('a.alias@example.com', aliasOfAlice);
      await store.addMapping('c@example.com', { type: 'Group', value: 'alice@example.com' });
      expect(await store.listSources(aliasOfAlice)).toEqual(['a.alias@example.com', 'b.alias@example.com']);
    });

    it('lists every source with its mappings, sources sorted', async () => {
      await store.addMapping('zeta@example.com', forwardToBob);
      await store.addMapping('example.net', { type: 'Domain', value: 'example.org' });
      await store.addMapping('alpha@example.com', { type: 'Regex', value: '(.*)@example.com:${1}@example.org' });
      await store.addMapping('alpha@example.com', { type: 'Error', value: '550 closed' });
      expect(await store.listAll()).toEqual([
        { source: 'alpha@example.com', mappings: [{ type: 'Regex', value: '(.*)@example.com:${1}@example.org' }, { type: 'Error', value: '550 closed' }] },
        { source: 'example.net', mappings: [{ type: 'Domain', value: 'example.org' }] },
        { source: 'zeta@example.com', mappings: [forwardToBob] },
      ]);
    });

    it('lists nothing when the table is empty', async () => {
      expect(await store.listAll()).toEqual([]);
      expect(await store.getMappings('')).toEqual([]);
    });
  });
}
