import pino from 'pino';
import { TemporaryError } from '../../src/core/errors';
import { escapeFilterValue, LdapUserDirectory } from '../../src/users/ldap/ldap-user-directory';
import { describeUserDirectoryContract } from '../contracts/users-directory.contract';
import { LdapFixture } from '../users/ldap-fixture';

const logger = pino({ level: 'silent' });

describeUserDirectoryContract('LDAP (slapd)', async () => {
  const fixture = await LdapFixture.create();
  return {
    directory: new LdapUserDirectory(fixture.config(), logger),
    async seed(users) {
      for (const { username, password } of users) await fixture.addUser(username, password);
    },
    cleanup: () => fixture.cleanup(),
  };
});

describe('LDAP users directory', () => {
  let fixture: LdapFixture;

  beforeEach(async () => {
    fixture = await LdapFixture.create();
  });

  afterEach(async () => {
    await fixture?.cleanup();
  });

  it('finds users by their mail attribute whatever its case', async () => {
    await fixture.addUser('Dana@Example.com', 'dana secret');
    const directory = new LdapUserDirectory(fixture.config(), logger);
    expect(await directory.list()).toEqual(['dana@example.com']);
    expect(await directory.contains('dana@example.com')).toBe(true);
    expect(await directory.verify('dana@example.com', 'dana secret')).toBe('ok');
  });

  it('applies the configured filter to every search', async () => {
    await fixture.addUser('kept@example.com', 'secret', { employeeType: 'staff' });
    await fixture.addUser('left@example.com', 'secret', { employeeType: 'former' });
    const directory = new LdapUserDirectory(fixture.config({ filter: '(employeeType=staff)' }), logger);
    expect(await directory.list()).toEqual(['kept@example.com']);
    expect(await directory.verify('left@example.com', 'secret')).toBe('invalid');
  });

  it('refuses a user name carried by two entries rather than picking one', async () => {
    await fixture.addUser('twice@example.com', 'first');
    await fixture.addUser('twice@example.com', 'second');
    const directory = new LdapUserDirectory(fixture.config(), logger);
    expect(await directory.contains('twice@example.com')).toBe(false);
    expect(await directory.verify('twice@example.com', 'first')).toBe('invalid');
  });

  it('reports an unreachable directory as a temporary failure, not as wrong credentials', async () => {
    const directory = new LdapUserDirectory(fixture.config({ url: 'ldap://127.0.0.1:9', connectTimeoutMs: 1_000 }), logger);
    await expect(directory.verify('dana@example.com', 'secret')).rejects.toBeInstanceOf(TemporaryError);
    await expect(directory.contains('dana@example.com')).rejects.toBeInstanceOf(TemporaryError);
  });

  it('fails with a wrong service bind password as a temporary failure', async () => {
    const directory = new LdapUserDirectory(fixture.config({ bindPassword: 'wrong' }), logger);
    await expect(directory.list()).rejects.toBeInstanceOf(TemporaryError);
  });

  it('escapes RFC 4515 filter metacharacters', () => {
    expect(escapeFilterValue('a*b(c)d\\e')).toBe('a\\2ab\\28c\\29d\\5ce');
    expect(escapeFilterValue('é')).toBe('\\c3\\a9');
  });
});
