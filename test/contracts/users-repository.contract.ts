import type { UsersRepository } from '../../src/users/api/users-repository';

export interface UsersRepositoryTestee {
  repository: UsersRepository;
  cleanup(): Promise<void>;
}

/** The UsersRepository port's behaviour, run against every adapter (James' UsersRepositoryContract). */
export function describeUsersRepositoryContract(name: string, makeTestee: () => Promise<UsersRepositoryTestee>): void {
  describe(`UsersRepository contract: ${name}`, () => {
    let testee: UsersRepositoryTestee;
    let users: UsersRepository;

    beforeEach(async () => {
      testee = await makeTestee();
      users = testee.repository;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('returns an account after it is created', async () => {
      await users.upsertUser({ username: 'alice@example.com', passwordHash: '$argon2id$v=19$hash-1' });
      expect(await users.getUser('alice@example.com')).toEqual({ username: 'alice@example.com', passwordHash: '$argon2id$v=19$hash-1', disabled: false });
    });

    it('replaces the password hash of an existing account', async () => {
      await users.upsertUser({ username: 'alice@example.com', passwordHash: 'hash-1' });
      await users.upsertUser({ username: 'alice@example.com', passwordHash: 'hash-2' });
      expect(await users.getUser('alice@example.com')).toEqual({ username: 'alice@example.com', passwordHash: 'hash-2', disabled: false });
      expect(await users.listUsers()).toEqual(['alice@example.com']);
    });

    it('returns null for an account that does not exist', async () => {
      expect(await users.getUser('nobody@example.com')).toBeNull();
    });

    it('removes an account, and removing a missing account is a no-op', async () => {
      await users.upsertUser({ username: 'alice@example.com', passwordHash: 'hash' });
      await users.removeUser('alice@example.com');
      expect(await users.getUser('alice@example.com')).toBeNull();
      await expect(users.removeUser('alice@example.com')).resolves.toBeUndefined();
      expect(await users.listUsers()).toEqual([]);
    });

    it('lists every account by name', async () => {
      for (const username of ['carol@example.org', 'alice@example.com', 'bob@example.com']) {
        await users.upsertUser({ username, passwordHash: `hash-of-${username}` });
      }
      expect(await users.listUsers()).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.org']);
    });

    it('keeps the disabled flag of an account, and clears it when written without', async () => {
      await users.upsertUser({ username: 'alice@example.com', passwordHash: 'hash', disabled: true });
      expect(await users.getUser('alice@example.com')).toMatchObject({ disabled: true });
      await users.upsertUser({ username: 'alice@example.com', passwordHash: 'hash' });
      expect(await users.getUser('alice@example.com')).toMatchObject({ disabled: false });
    });

    it('lists nothing when there is no account', async () => {
      expect(await users.listUsers()).toEqual([]);
    });
  });
}
