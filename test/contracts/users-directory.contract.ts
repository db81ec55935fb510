import type { UserDirectory } from '../../src/users/api/user-directory';

export interface UserDirectoryTestee {
  directory: UserDirectory;
  /**
   * Puts accounts in place before a test: through the directory for a writable one, in the
   * directory server itself for a read-only one (LDAP).
   */
  seed(users: Array<{ username: string; password: string }>): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * The UserDirectory port, run against the local directory (SQLite, Cassandra) and LDAP: read paths
 * for all, write paths for the writable ones (James' UsersRepositoryContract + ReadOnly variant).
 */
export function describeUserDirectoryContract(name: string, makeTestee: () => Promise<UserDirectoryTestee>): void {
  describe(`UserDirectory contract: ${name}`, () => {
    let testee: UserDirectoryTestee;
    let directory: UserDirectory;

    beforeEach(async () => {
      testee = await makeTestee();
      directory = testee.directory;
      await testee.seed([
        { username: 'alice@example.com', password: 'alice secret' },
        { username: 'bob@example.org', password: 'bob secret' },
      ]);
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('knows which accounts exist', async () => {
      expect(await directory.contains('alice@example.com')).toBe(true);
      expect(await directory.contains('carol@example.com')).toBe(false);
      expect(await directory.contains('')).toBe(false);
    });

    it('lists every account, lower-case and sorted', async () => {
      expect(await directory.list()).toEqual(['alice@example.com', 'bob@example.org']);
    });

    it('accepts the right password only', async () => {
      expect(await directory.verify('alice@example.com', 'alice secret')).toBe('ok');
      expect(await directory.verify('alice@example.com', 'bob secret')).toBe('invalid');
      expect(await directory.verify('alice@example.com', 'Alice secret')).toBe('invalid');
    });

    it('answers invalid, never an error, for an unknown account, an empty or an over-long password', async () => {
      expect(await directory.verify('carol@example.com', 'alice secret')).toBe('invalid');
      expect(await directory.verify('alice@example.com', '')).toBe('invalid');
      expect(await directory.verify('alice@example.com', 'x'.repeat(5000))).toBe('invalid');
      expect(await directory.verify('', 'alice secret')).toBe('invalid');
    });

    it('treats a filter metacharacter in a user name as text, not as a wildcard', async () => {
      expect(await directory.contains('*@example.com')).toBe(false);
      expect(await directory.verify('*', 'alice secret')).toBe('invalid');
      expect(await directory.verify('alice@example.com)(mail=*', 'alice secret')).toBe('invalid');
    });

    it('changes a password, disables and removes an account when writable', async () => {
      if (directory.readOnly) {
        await expect(directory.setPassword('alice@example.com', 'new one')).rejects.toThrow(/read-only/);
        await expect(directory.remove('alice@example.com')).rejects.toThrow(/read-only/);
        expect(await directory.verify('alice@example.com', 'alice secret')).toBe('ok');
        return;
      }
      await directory.setPassword('alice@example.com', 'new one');
      expect(await directory.verify('alice@example.com', 'alice secret')).toBe('invalid');
      expect(await directory.verify('alice@example.com', 'new one')).toBe('ok');
      await directory.setDisabled('alice@example.com', true);
      expect(await directory.isDisabled('alice@example.com')).toBe(true);
      expect(await directory.verify('alice@example.com', 'new one')).toBe('disabled');
      expect(await directory.verify('alice@example.com', 'wrong')).toBe('invalid');
      await directory.setDisabled('alice@example.com', false);
      expect(await directory.verify('alice@example.com', 'new one')).toBe('ok');
      await directory.remove('alice@example.com');
      expect(await directory.contains('alice@example.com')).toBe(false);
      expect(await directory.list()).toEqual(['bob@example.org']);
    });
  });
}
