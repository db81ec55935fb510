import { createHash } from 'node:crypto';
import { LoginThrottle } from '../../src/auth/login-throttle';
import type { Backends } from '../../src/storage/backends';
import type { IdentityServices } from '../../src/users/identity';
import { identityFixture } from '../rrt/rrt-fixture';

const ALICE = 'alice@example.com';

describe('AuthService', () => {
  let identity: IdentityServices;
  let backends: Backends;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const fixture = await identityFixture({ maxFailuresPerAccount: 3, maxFailuresPerAddress: 5 });
    ({ identity, backends, cleanup } = fixture);
    await identity.domains.add('example.com');
    await identity.users.create(ALICE, 'right password');
    await identity.users.create('bob@example.com', 'bob password');
  });

  afterEach(async () => {
    await cleanup();
  });

  const attempt = (username: string, password: string, remoteAddress = '192.0.2.1', authorizationId?: string) =>
    identity.auth.authenticate({ username, password, remoteAddress, authorizationId, protocol: 'imap' });

  it('accepts the right password whatever the case of the user name', async () => {
    expect(await attempt('Alice@Example.COM', 'right password')).toEqual({ ok: true, user: ALICE, authenticatedAs: ALICE });
  });

  it('answers the same for a wrong password, an unknown user, a malformed name and a disabled account', async () => {
    await identity.users.setDisabled('bob@example.com', true);
    const answers = [await attempt(ALICE, 'wrong'), await attempt('nobody@example.com', 'x'), await attempt('not an address', 'x'), await attempt('bob@example.com', 'bob password')];
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ ok: false, reason: 'invalid' })]));
  });

  it('costs about the same time for an unknown user as for a wrong password (no enumeration by timing)', async () => {
    const once = async (username: string): Promise<number> => {
      const started = process.hrtime.bigint();
      await identity.directory.verify(username, 'wrong password');
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const median = (samples: number[]): number => samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
    await once(ALICE); // warm-up (the timing equalizer hash is computed once)
    // Samples alternate between the two users: a busy moment of the machine falls on both.
    const knownSamples: number[] = [];
    const unknownSamples: number[] = [];
    for (let i = 0; i < 7; i++) {
      knownSamples.push(await once(ALICE));
      unknownSamples.push(await once('nobody@example.com'));
    }
    const known = median(knownSamples);
    const unknown = median(unknownSamples);
    expect(unknown).toBeGreaterThan(known * 0.5);
    expect(unknown).toBeLessThan(known * 2);
  });

  it('throttles an account after repeated failures, even with the right password, and for unknown accounts alike', async () => {
    for (let i = 0; i < 3; i++) expect(await attempt(ALICE, `guess ${i}`, `198.51.100.${i}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt(ALICE, 'right password', '203.0.113.9')).toEqual({ ok: false, reason: 'throttled' });
    for (let i = 0; i < 3; i++) await attempt('nobody@example.com', `guess ${i}`, `198.51.100.${i}`);
    expect(await attempt('nobody@example.com', 'x', '203.0.113.9')).toEqual({ ok: false, reason: 'throttled' });
    expect(await attempt('bob@example.com', 'bob password', '203.0.113.9')).toMatchObject({ ok: true });
  });

  it('throttles a remote address spraying passwords over many accounts', async () => {
    for (let i = 0; i < 5; i++) await attempt(`user${i}@example.com`, 'guess', '192.0.2.50');
    expect(await attempt('bob@example.com', 'bob password', '192.0.2.50')).toEqual({ ok: false, reason: 'throttled' });
    expect(await attempt('bob@example.com', 'bob password', '192.0.2.51')).toMatchObject({ ok: true });
  });

  it('lets a delegated user act as the account that authorized them, and nobody else', async () => {
    await identity.users.addAuthorizedUser(ALICE, 'bob@example.com');
    expect(await attempt('bob@example.com', 'bob password', '192.0.2.1', ALICE)).toEqual({ ok: true, user: ALICE, authenticatedAs: 'bob@example.com' });
    expect(await attempt(ALICE, 'right password', '192.0.2.1', 'bob@example.com')).toEqual({ ok: false, reason: 'not-authorized' });
  });

  it('upgrades an imported James hash to argon2id at the first successful login', async () => {
    const legacy = `{JAMES}SHA-512/salted:${createHash('sha512').update(`carol@example.comcarol password`, 'latin1').digest('base64')}`;
    await backends.users.upsertUser({ username: 'carol@example.com', passwordHash: legacy });
    expect(await attempt('carol@example.com', 'carol password')).toMatchObject({ ok: true });
    expect((await backends.users.getUser('carol@example.com'))?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await attempt('carol@example.com', 'carol password')).toMatchObject({ ok: true });
  });

  it('allows plain-text credentials without TLS on loopback only by default', () => {
    expect(identity.auth.plainTextAllowed('127.0.0.1', false)).toBe(true);
    expect(identity.auth.plainTextAllowed('::ffff:127.0.0.1', false)).toBe(true);
    expect(identity.auth.plainTextAllowed('::1', false)).toBe(true);
    expect(identity.auth.plainTextAllowed('192.0.2.1', false)).toBe(false);
    expect(identity.auth.plainTextAllowed('192.0.2.1', true)).toBe(true);
  });
});

describe('LoginThrottle', () => {
  it('forgets failures once the window has passed, and bounds how many keys it tracks', () => {
    let now = 0;
    const throttle = new LoginThrottle({ maxFailuresPerAccount: 2, maxFailuresPerAddress: 100, windowSeconds: 60 }, () => now, 1_000);
    throttle.recordFailure('a', 'r');
    throttle.recordFailure('a', 'r');
    expect(throttle.blocked('a', 'r')).toBe('account');
    now += 61_000;
    expect(throttle.blocked('a', 'r')).toBeNull();
    for (let i = 0; i < 5_000; i++) throttle.recordFailure(`spray${i}`, 'r2');
    expect((throttle as unknown as { failures: Map<string, number[]> }).failures.size).toBeLessThanOrEqual(1_000);
    // The address of the spray is among the most recent keys: still tracked, and blocked.
    expect(throttle.blocked('new', 'r2')).toBe('address');
  });

  it('clears an account\'s failures on success but not its address\'s', () => {
    const throttle = new LoginThrottle({ maxFailuresPerAccount: 2, maxFailuresPerAddress: 2, windowSeconds: 60 });
    throttle.recordFailure('a', 'r');
    throttle.recordSuccess('a');
    throttle.recordFailure('a', 'r');
    expect(throttle.blocked('a', 'other')).toBeNull();
    expect(throttle.blocked('b', 'r')).toBe('address');
  });
});
