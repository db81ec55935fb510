import { InvalidInputError } from '../../src/core/errors';
import type { DomainList } from '../../src/domains/api/domain-list';

export interface DomainListTestee {
  domains: DomainList;
  cleanup(): Promise<void>;
}

/** The DomainList port's behaviour, run against every adapter (James' DomainListContract). */
export function describeDomainListContract(name: string, makeTestee: () => Promise<DomainListTestee>): void {
  describe(`DomainList contract: ${name}`, () => {
    let testee: DomainListTestee;
    let domains: DomainList;

    beforeEach(async () => {
      testee = await makeTestee();
      domains = testee.domains;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('contains a domain once it is added', async () => {
      await domains.addDomain('example.com');
      expect(await domains.containsDomain('example.com')).toBe(true);
      expect(await domains.containsDomain('example.org')).toBe(false);
    });

    it('stores domains lower-case and matches them case-insensitively', async () => {
      await domains.addDomain('Example.COM');
      expect(await domains.listDomains()).toEqual(['example.com']);
      expect(await domains.containsDomain('EXAMPLE.com')).toBe(true);
    });

    it('treats adding an existing domain as a no-op', async () => {
      await domains.addDomain('example.com');
      await expect(domains.addDomain('example.com')).resolves.toBeUndefined();
      await domains.addDomain('EXAMPLE.COM');
      expect(await domains.listDomains()).toEqual(['example.com']);
    });

    it('refuses invalid domain names with InvalidInputError and stores nothing', async () => {
      for (const bad of ['', ' ', 'exa mple.com', '-bad.com', 'bad-.com', 'a..b', 'under_score.com', `${'a'.repeat(64)}.com`, 'ex@mple.com']) {
        await expect(domains.addDomain(bad)).rejects.toBeInstanceOf(InvalidInputError);
      }
      expect(await domains.listDomains()).toEqual([]);
    });

    it('answers false, not an error, when asked about an invalid or empty name', async () => {
      expect(await domains.containsDomain('')).toBe(false);
      expect(await domains.containsDomain('not a domain')).toBe(false);
    });

    it('removes a domain, and removing a missing domain is a no-op', async () => {
      await domains.addDomain('example.com');
      await domains.addDomain('example.org');
      await domains.removeDomain('Example.com');
      expect(await domains.containsDomain('example.com')).toBe(false);
      await expect(domains.removeDomain('example.com')).resolves.toBeUndefined();
      expect(await domains.listDomains()).toEqual(['example.org']);
    });

    it('lists every domain by name', async () => {
      for (const domain of ['zeta.example', 'alpha.example', 'xn--bcher-kva.example']) await domains.addDomain(domain);
      expect(await domains.listDomains()).toEqual(['alpha.example', 'xn--bcher-kva.example', 'zeta.example']);
    });
  });
}
