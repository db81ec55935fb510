import pino from 'pino';
import { AuthService, type AuthSettings } from '../../src/auth/auth-service';
import { CassandraDelegationStore } from '../../src/storage/cassandra/cassandra-delegation-store';
import { CassandraLoginFailureStore } from '../../src/storage/cassandra/cassandra-login-failure-store';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { CassandraUsersRepository } from '../../src/storage/cassandra/cassandra-users-repository';
import { LocalUserDirectory } from '../../src/users/local-user-directory';
import { distributedTestConfig, requireEngines } from '../helpers/engines';

/**
 * The login throttle of the distributed profile: two AuthServices (two nodes) over two sessions
 * on one Cassandra keyspace share their failure counts.
 */
const config = distributedTestConfig();
const logger = pino({ level: 'silent' });
const settings: AuthSettings = { plainTextAuth: 'always', maxFailuresPerAccount: 3, maxFailuresPerAddress: 5, windowSeconds: 60, failureDelayMs: 0 };
const ALICE = 'alice@example.com';
let sessions: CassandraSession[] = [];
let now = Date.now();

beforeAll(async () => {
  await requireEngines(config, 'cassandra');
  sessions = [await CassandraSession.connect(config.cassandra), await CassandraSession.connect(config.cassandra)];
  const directory = new LocalUserDirectory(new CassandraUsersRepository(sessions[0]));
  await directory.setPassword(ALICE, 'right password');
  await directory.setPassword('bob@example.com', 'bob password');
}, 120_000);

afterAll(async () => {
  if (sessions.length === 0) return;
  await sessions[0].dropKeyspace();
  await Promise.all(sessions.map((s) => s.close()));
}, 60_000);

beforeEach(async () => {
  await sessions[0].truncate(['login_failures']);
  now = Date.now();
});

/** One node's AuthService over its own session. */
function node(i: number, overrides: Partial<AuthSettings> = {}): AuthService {
  const session = sessions[i];
  return new AuthService(new LocalUserDirectory(new CassandraUsersRepository(session)), new CassandraDelegationStore(session), { ...settings, ...overrides }, logger, () => now, new CassandraLoginFailureStore(session));
}

const attempt = (service: AuthService, username: string, password: string, remoteAddress = '192.0.2.1') => service.authenticate({ username, password, remoteAddress, protocol: 'imap' });

it('failures on node 1 throttle the account on node 2, even with the right password', async () => {
  const [one, two] = [node(0), node(1)];
  for (let i = 0; i < 3; i++) expect(await attempt(one, ALICE, 'wrong', `198.51.100.${i}`)).toEqual({ ok: false, reason: 'invalid' });
  expect(await attempt(two, ALICE, 'right password', '203.0.113.9')).toEqual({ ok: false, reason: 'throttled' });
  // Another account from another address is not affected.
  expect((await attempt(two, 'bob@example.com', 'bob password', '203.0.113.9')).ok).toBe(true);
});

it('forgets the failures once the window has passed', async () => {
  const [one, two] = [node(0), node(1)];
  for (let i = 0; i < 3; i++) await attempt(one, ALICE, 'wrong');
  expect((await attempt(two, ALICE, 'right password')).ok).toBe(false);
  now += 61_000;
  expect((await attempt(two, ALICE, 'right password')).ok).toBe(true);
});

it('a success on node 2 clears the account failures counted on node 1, not those of the remote address', async () => {
  const [one, two] = [node(0), node(1)];
  for (let i = 0; i < 2; i++) await attempt(one, ALICE, 'wrong', '192.0.2.50');
  expect((await attempt(two, ALICE, 'right password', '192.0.2.60')).ok).toBe(true);
  await attempt(one, ALICE, 'wrong', '192.0.2.70');
  await attempt(one, ALICE, 'wrong', '192.0.2.70');
  expect((await attempt(two, ALICE, 'right password', '192.0.2.80')).ok).toBe(true);
  // The spraying address: 2 failures + 3 on other accounts = 5, its budget.
  for (const user of ['x@example.com', 'y@example.com', 'z@example.com']) await attempt(one, user, 'guess', '192.0.2.50');
  expect(await attempt(two, 'bob@example.com', 'bob password', '192.0.2.50')).toEqual({ ok: false, reason: 'throttled' });
});

it('counts unknown accounts and malformed user names like the others (no enumeration), whatever their length', async () => {
  const [one, two] = [node(0), node(1)];
  const long = `${'a'.repeat(5_000)}@example.com`;
  for (let i = 0; i < 3; i++) expect(await attempt(one, long, 'x', `198.51.100.${i + 10}`)).toEqual({ ok: false, reason: 'invalid' });
  expect(await attempt(two, long, 'x', '198.51.100.99')).toEqual({ ok: false, reason: 'throttled' });
  for (let i = 0; i < 3; i++) await attempt(one, 'not an address', 'x', `198.51.100.${i + 20}`);
  expect(await attempt(two, 'not an address', 'x', '198.51.100.98')).toEqual({ ok: false, reason: 'throttled' });
});

it('stores each failure with the window as TTL: the rows expire in Cassandra', async () => {
  const store = new CassandraLoginFailureStore(sessions[0]);
  await store.record('a:ttl@example.com', Date.now(), 1);
  expect(await store.count('a:ttl@example.com', 0)).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect(await store.count('a:ttl@example.com', 0)).toBe(0);
});
