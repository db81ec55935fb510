import { InvalidInputError } from '../../src/core/errors';
import { MAX_ADDRESS_LENGTH, normalizeAddress, normalizeDomain } from '../../src/domains/domain-name';

describe('domain names and addresses', () => {
  it('lower-cases, drops a trailing dot and converts internationalized names to punycode', () => {
    expect(normalizeDomain(' Example.COM. ')).toBe('example.com');
    expect(normalizeDomain('Bücher.example')).toBe('xn--bcher-kva.example');
    expect(normalizeDomain('例え.テスト')).toBe('xn--r8jz45g.xn--zckzah');
    expect(normalizeAddress('Joerg@Bücher.Example')).toBe('joerg@xn--bcher-kva.example');
    // Like James' WebAdmin: local parts are ASCII (no SMTPUTF8 mailboxes).
    expect(() => normalizeAddress('jörg@example.com')).toThrow(InvalidInputError);
  });

  it.each([
    ['an empty name', ''],
    ['a label over 63 characters', `${'a'.repeat(64)}.com`],
    ['a name over 255 characters', `${'a.'.repeat(128)}com`],
    ['an underscore', 'bad_name.com'],
    ['a leading hyphen', '-bad.com'],
    ['an empty label', 'a..b'],
    ['a space', 'exa mple.com'],
  ])('refuses %s', (_what, domain) => {
    expect(() => normalizeDomain(domain)).toThrow(InvalidInputError);
  });

  it.each([
    ['no @', 'user.example.com'],
    ['an empty local part', '@example.com'],
    ['a local part over 64 characters', `${'a'.repeat(65)}@example.com`],
    [`an address over ${MAX_ADDRESS_LENGTH} characters`, `${'a'.repeat(60)}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.com`],
    ['a space in the local part', 'a b@example.com'],
    ['a double dot in the local part', 'a..b@example.com'],
    ['an invalid domain', 'a@bad_domain.com'],
  ])('refuses an address with %s', (_what, address) => {
    expect(() => normalizeAddress(address)).toThrow(InvalidInputError);
  });
});
