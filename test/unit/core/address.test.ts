import { parseAddress, parseDomain, parseUsername } from '../../../src/core/address';

describe('addresses and domains', () => {
  it('lower-cases domains and user names', () => {
    expect(parseDomain('Example.COM')).toBe('example.com');
    expect(parseUsername('Bob@Example.com')).toBe('bob@example.com');
  });

  it('accepts punycode domains', () => {
    expect(parseDomain('xn--bcher-kva.example')).toBe('xn--bcher-kva.example');
  });

  it.each(['', 'exa mple.com', '-bad.com', 'a..b', 'a'.repeat(64) + '.com', `${'a.'.repeat(128)}com`, 'bad_domain.com'])('refuses the domain %j', (domain) => {
    expect(() => parseDomain(domain)).toThrow(/domain name/i);
  });

  it.each(['nobody', '@example.com', 'bob@', 'a b@example.com', `${'x'.repeat(65)}@example.com`, 'bob@exa mple.com'])('refuses the address %j', (address) => {
    expect(() => parseAddress(address)).toThrow();
  });
});
