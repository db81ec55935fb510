import { InvalidInputError } from '../../src/core/errors';
import { ErrorMappingError, MappingConflictError, SourceDomainNotManagedError, TooManyMappingsError } from '../../src/rrt/errors';
import { MAPPING_LIMIT, type RecipientRewriteTable } from '../../src/rrt/recipient-rewrite-table';
import type { Backends } from '../../src/storage/backends';
import type { IdentityServices } from '../../src/users/identity';
import { identityFixture } from './rrt-fixture';

describe('RecipientRewriteTable (James semantics)', () => {
  let identity: IdentityServices;
  let backends: Backends;
  let rrt: RecipientRewriteTable;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const fixture = await identityFixture();
    identity = fixture.identity;
    backends = fixture.backends;
    rrt = identity.rrt;
    cleanup = fixture.cleanup;
    for (const domain of ['example.com', 'example.org', 'other.net']) await identity.domains.add(domain);
  });

  afterEach(async () => {
    await cleanup();
  });

  it('leaves an address without mappings unchanged', async () => {
    expect(await rrt.resolve('nobody@example.com')).toEqual([]);
    expect(await rrt.rewriteRecipient('Nobody@Example.com')).toEqual(['nobody@example.com']);
  });

  it('looks up the exact address first, then the whole domain', async () => {
    await rrt.addDomainMapping('example.com', 'example.org');
    await rrt.addAddressMapping('special@example.com', 'boss@other.net');
    expect(await rrt.rewriteRecipient('special@example.com')).toEqual(['boss@other.net']);
    expect(await rrt.rewriteRecipient('anyone@example.com')).toEqual(['anyone@example.org']);
  });

  it('resolves mappings recursively', async () => {
    await rrt.addAliasMapping('a@example.com', 'b@example.com');
    await rrt.addGroupMapping('b@example.com', 'c@example.com');
    await rrt.addGroupMapping('b@example.com', 'd@example.com');
    await rrt.addForwardMapping('c@example.com', 'e@other.net');
    expect(await rrt.rewriteRecipient('a@example.com')).toEqual(['e@other.net', 'd@example.com']);
  });

  it('keeps a local copy when a forward lists its own source', async () => {
    await rrt.addForwardMapping('alice@example.com', 'alice@example.com');
    await rrt.addForwardMapping('alice@example.com', 'bob@other.net');
    expect((await rrt.rewriteRecipient('alice@example.com')).sort()).toEqual(['alice@example.com', 'bob@other.net']);
    expect(await rrt.resolve('alice@example.com')).toEqual(expect.arrayContaining([{ type: 'Forward', address: 'alice@example.com' }]));
  });

  it('maps a domain alias and a domain mapping to the same local part', async () => {
    await identity.domains.addAlias('example.com', 'example.org');
    expect(await rrt.rewriteRecipient('Bob@Example.ORG')).toEqual(['bob@example.com']);
    expect(await identity.domains.aliases('example.com')).toEqual(['example.org']);
  });

  it('rewrites through a regex with ${n} groups, on a full match only', async () => {
    await rrt.addRegexMapping('example.com', '(.*)\\.(.*)@example\\.com:${2}-${1}@other.net');
    expect(await rrt.rewriteRecipient('john.doe@example.com')).toEqual(['doe-john@other.net']);
    expect(await rrt.rewriteRecipient('plain@example.com')).toEqual(['plain@example.com']);
  });

  it('appends the original domain to a regex result without one (James withDefaultDomainFromUser)', async () => {
    await rrt.addRegexMapping('x@example.com', 'x@example\\.com:y');
    expect(await rrt.rewriteRecipient('x@example.com')).toEqual(['y@example.com']);
  });

  it('fails an error mapping with its text', async () => {
    await rrt.addErrorMapping('closed@example.com', '550 This account is closed');
    await expect(rrt.resolve('closed@example.com')).rejects.toThrow(new ErrorMappingError('550 This account is closed'));
  });

  it(`stops after ${MAPPING_LIMIT} levels with 554 Too many mappings`, async () => {
    // A chain of 11 aliases: each write is loop-free, but resolution goes deeper than the limit.
    for (let i = 0; i <= MAPPING_LIMIT; i++) await rrt.addAddressMapping(`hop${i}@example.com`, `hop${i + 1}@example.com`);
    await expect(rrt.resolve('hop0@example.com')).rejects.toThrow(TooManyMappingsError);
    await expect(rrt.resolve('hop0@example.com')).rejects.toThrow('554 Too many mappings to process');
    expect(await rrt.rewriteRecipient(`hop2@example.com`)).toEqual([`hop${MAPPING_LIMIT + 1}@example.com`]);
  });

  it('refuses a loop when it is written, for addresses and for domains', async () => {
    await rrt.addGroupMapping('g1@example.com', 'g2@example.com');
    await rrt.addAliasMapping('g2@example.com', 'g3@example.com');
    await expect(rrt.addForwardMapping('g3@example.com', 'g1@example.com')).rejects.toBeInstanceOf(MappingConflictError);
    await expect(rrt.addAddressMapping('g3@example.com', 'g1@example.com')).rejects.toThrow(/loop/);
    await rrt.addDomainMapping('example.com', 'example.org');
    await expect(rrt.addDomainAliasMapping('example.org', 'example.com')).rejects.toBeInstanceOf(MappingConflictError);
    expect(await rrt.getStoredMappings('example.org')).toEqual([]);
  });

  it('refuses the same source and destination for an alias and a domain mapping', async () => {
    await expect(rrt.addAliasMapping('a@example.com', 'A@example.com')).rejects.toThrow("Source and destination can't be the same!");
    await expect(rrt.addDomainMapping('example.com', 'EXAMPLE.com')).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('refuses a source whose domain is not local', async () => {
    await expect(rrt.addForwardMapping('a@remote.example', 'b@example.com')).rejects.toBeInstanceOf(SourceDomainNotManagedError);
    await expect(rrt.addDomainAliasMapping('remote.example', 'example.com')).rejects.toBeInstanceOf(SourceDomainNotManagedError);
  });

  it('refuses an alias or a group whose address is an existing user', async () => {
    await identity.users.create('taken@example.com', 'password');
    await expect(rrt.addAliasMapping('taken@example.com', 'b@example.com')).rejects.toBeInstanceOf(MappingConflictError);
    await expect(rrt.addGroupMapping('taken@example.com', 'b@example.com')).rejects.toBeInstanceOf(MappingConflictError);
    await expect(rrt.addForwardMapping('taken@example.com', 'b@example.com')).resolves.toBeUndefined();
  });

  it('refuses invalid addresses and domains (RFC 5321 limits), and converts IDN to punycode', async () => {
    await expect(rrt.addForwardMapping('a@example.com', 'not an address')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(rrt.addForwardMapping('a@example.com', `${'x'.repeat(65)}@example.com`)).rejects.toThrow(/longer than 64/);
    await expect(rrt.addForwardMapping('a@example.com', `${'x'.repeat(60)}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.com`)).rejects.toThrow(/longer than 254/);
    await expect(rrt.addDomainMapping('example.com', 'bad_domain.com')).rejects.toBeInstanceOf(InvalidInputError);
    await identity.domains.add('bücher.example');
    expect(await identity.domains.list()).toContain('xn--bcher-kva.example');
    await rrt.addForwardMapping('shop@bücher.example', 'a@example.com');
    expect(await rrt.rewriteRecipient('shop@xn--bcher-kva.example')).toEqual(['a@example.com']);
  });

  it('refuses a regex that does not compile or could backtrack catastrophically', async () => {
    await expect(rrt.addRegexMapping('example.com', '(unclosed:x@example.com')).rejects.toThrow(/Invalid regex/);
    await expect(rrt.addRegexMapping('example.com', '(a+)+@example.com:x@example.com')).rejects.toThrow(/catastrophically/);
    await expect(rrt.addRegexMapping('example.com', '(a|a)*@example.com:x@example.com')).rejects.toThrow(/catastrophically/);
    await expect(rrt.addRegexMapping('example.com', '(a)\\1@example.com:x@example.com')).rejects.toThrow(/back-reference/);
    await expect(rrt.addRegexMapping('example.com', 'no-replacement-part')).rejects.toThrow(/formatted/);
    await expect(rrt.addRegexMapping('example.com', `${'a'.repeat(600)}:x@example.com`)).rejects.toThrow(/longer than 512/);
    expect(await rrt.getStoredMappings('example.com')).toEqual([]);
  });

  it('expands a group to at most 1,000 addresses', async () => {
    for (let i = 0; i < 40; i++) await rrt.addGroupMapping('big@example.com', `sub${i}@example.com`);
    for (let i = 0; i < 40; i++) for (let j = 0; j < 30; j++) await backends.rrt.addMapping(`sub${i}@example.com`, { type: 'Group', value: `m${i}-${j}@example.com` });
    await expect(rrt.resolve('big@example.com')).rejects.toThrow(/more than 1000 addresses/);
  });
});
