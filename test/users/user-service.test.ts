import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../../src/core/errors';
import { MappingConflictError } from '../../src/rrt/errors';
import type { IdentityServices } from '../../src/users/identity';
import { identityFixture } from '../rrt/rrt-fixture';

describe('UserService', () => {
  let identity: IdentityServices;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const fixture = await identityFixture();
    ({ identity, cleanup } = fixture);
    await identity.domains.add('example.com');
  });

  afterEach(async () => {
    await cleanup();
  });

  it('renames an account: password, delegations, forwards and aliases follow, and mail to the old name is forwarded', async () => {
    await identity.users.create('old@example.com', 'secret');
    await identity.users.create('boss@example.com', 'secret');
    await identity.users.create('helper@example.com', 'secret');
    await identity.users.addAuthorizedUser('boss@example.com', 'old@example.com');
    await identity.users.addAuthorizedUser('old@example.com', 'helper@example.com');
    await identity.rrt.addAliasMapping('nick@example.com', 'old@example.com');
    await identity.rrt.addForwardMapping('old@example.com', 'elsewhere@example.com');

    await identity.users.rename('old@example.com', 'new@example.com');

    expect(await identity.users.exists('old@example.com')).toBe(false);
    expect(await identity.users.verifyPassword('new@example.com', 'secret')).toBe(true);
    expect(await identity.users.authorizedUsers('boss@example.com')).toEqual(['new@example.com']);
    expect(await identity.users.authorizedUsers('new@example.com')).toEqual(['helper@example.com']);
    expect(await identity.rrt.rewriteRecipient('nick@example.com')).toEqual(['elsewhere@example.com']);
    expect(await identity.rrt.rewriteRecipient('old@example.com')).toEqual(['elsewhere@example.com']);
    expect((await identity.rrt.getStoredMappings('new@example.com')).map((m) => m.value)).toEqual(['elsewhere@example.com']);
  });

  it('refuses to rename a missing user, onto an existing user, or into an unmanaged domain', async () => {
    await identity.users.create('a@example.com', 'secret');
    await identity.users.create('b@example.com', 'secret');
    await expect(identity.users.rename('nobody@example.com', 'c@example.com')).rejects.toBeInstanceOf(NotFoundError);
    await expect(identity.users.rename('a@example.com', 'b@example.com')).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(identity.users.rename('a@example.com', 'a@unknown.example')).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('refuses a user whose address is already an alias or a group', async () => {
    await identity.users.create('carol@example.com', 'secret');
    await identity.rrt.addAliasMapping('c@example.com', 'carol@example.com');
    await expect(identity.users.create('c@example.com', 'secret')).rejects.toBeInstanceOf(MappingConflictError);
  });
});
