import { MAX_DOMAIN_LENGTH, parseAddress, parseDomain, parseUsername } from '../../../src/core/address';

describe('addresses and domains', () => {
  it('lower-cases domains and user names', () => {
    expect(parseDomain('Example.COM')).toBe('example.com');
    expect(parseUsername('Bob@Example.com')).toBe('bob@example.com');
  });

  it('accepts punycode domains', () => {
    expect(parseDomain('xn--bcher-kva.example')).toBe('xn--bcher-kva.example');
  });

  it('accepts labels of 1 to 63 characters, inner hyphens, digits, one trailing dot and surrounding spaces', () => {
    const longest = 'a'.repeat(63);
    expect(parseDomain(`${longest}.com`)).toBe(`${longest}.com`);
    expect(parseDomain('a.b-c.9z')).toBe('a.b-c.9z');
    expect(parseDomain(' Mail.Example.ORG. ')).toBe('mail.example.org');
    const nearLimit = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
    expect(nearLimit).toHaveLength(MAX_DOMAIN_LENGTH);
    expect(parseDomain(nearLimit)).toBe(nearLimit);
    expect(() => parseDomain(`${nearLimit}e`)).toThrow(/longer than 255/);
  });

  it.each(['', '.', 'exa mple.com', '-bad.com', 'bad-.com', 'a..b', '.a.com', 'a.com..', 'a'.repeat(64) + '.com', `${'a.'.repeat(128)}com`, 'bad_domain.com', 'ümlaut.de'])('refuses the domain %j', (domain) => {
    expect(() => parseDomain(domain)).toThrow(/domain name/i);
  });

  it.each(['nobody', '@example.com', 'bob@', 'a b@example.com', `${'x'.repeat(65)}@example.com`, 'bob@exa mple.com'])('refuses the address %j', (address) => {
    expect(() => parseAddress(address)).toThrow();
  });
});
