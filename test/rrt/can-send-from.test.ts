import type { IdentityServices } from '../../src/users/identity';
import { identityFixture } from './rrt-fixture';

describe('addresses a user may send from', () => {
  let identity: IdentityServices;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const fixture = await identityFixture();
    identity = fixture.identity;
    cleanup = fixture.cleanup;
    for (const domain of ['example.com', 'example.org']) await identity.domains.add(domain);
    for (const user of ['alice@example.com', 'bob@example.com', 'boss@example.com']) await identity.users.create(user, 'password');
  });

  afterEach(async () => {
    await cleanup();
  });

  it('allows the user\'s own address, whatever its case', async () => {
    expect(await identity.senders.canSendFrom('alice@example.com', 'Alice@EXAMPLE.com')).toBe(true);
    expect(await identity.senders.canSendFrom('alice@example.com', 'bob@example.com')).toBe(false);
    expect(await identity.senders.canSendFrom('alice@example.com', 'not an address')).toBe(false);
  });

  it('allows aliases and the same addresses in aliased domains, not forwards or groups', async () => {
    await identity.rrt.addAliasMapping('a.smith@example.com', 'alice@example.com');
    await identity.domains.addAlias('example.com', 'example.org');
    await identity.rrt.addForwardMapping('bob@example.com', 'alice@example.com');
    await identity.rrt.addGroupMapping('team@example.com', 'alice@example.com');
    for (const from of ['a.smith@example.com', 'alice@example.org', 'a.smith@example.org']) {
      expect(await identity.senders.canSendFrom('alice@example.com', from)).toBe(true);
    }
    expect(await identity.senders.canSendFrom('alice@example.com', 'bob@example.com')).toBe(false);
    expect(await identity.senders.canSendFrom('alice@example.com', 'team@example.com')).toBe(false);
    expect(await identity.senders.allowedFromAddresses('alice@example.com')).toEqual([
      'a.smith@example.com',
      'a.smith@example.org',
      'alice@example.com',
      'alice@example.org',
    ]);
  });

  it('allows the addresses of an account that delegated to the user', async () => {
    await identity.users.addAuthorizedUser('boss@example.com', 'alice@example.com');
    expect(await identity.senders.canSendFrom('alice@example.com', 'boss@example.com')).toBe(true);
    expect(await identity.senders.canSendFrom('bob@example.com', 'boss@example.com')).toBe(false);
    expect(await identity.senders.allowedFromAddresses('alice@example.com')).toContain('boss@example.com');
    await identity.users.removeAuthorizedUser('boss@example.com', 'alice@example.com');
    expect(await identity.senders.canSendFrom('alice@example.com', 'boss@example.com')).toBe(false);
  });
});
