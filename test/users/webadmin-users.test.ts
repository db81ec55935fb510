import type { FastifyInstance } from 'fastify';
import type { Backends } from '../../src/storage/backends';
import type { IdentityServices } from '../../src/users/identity';
import { webAdminFixture } from '../rrt/rrt-fixture';

/** WebAdmin `/users` and `/domains` routes with James' paths, codes and JSON shapes. */
describe('WebAdmin users and domains routes (James shapes)', () => {
  let app: FastifyInstance;
  let identity: IdentityServices;
  let backends: Backends;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ app, identity, backends, cleanup } = await webAdminFixture(['domain.tld', 'domain-jmapauthentication.tld']));
  });

  afterEach(async () => {
    await cleanup();
  });

  const put = (url: string, payload?: unknown) => app.inject({ method: 'PUT', url, payload: payload as object });

  it('lists users as [{"username":"username@domain-jmapauthentication.tld"},{"username":"username@domain.tld"}]', async () => {
    expect((await put('/users/username@domain.tld', { password: 'passwordToBeUsed' })).statusCode).toBe(204);
    expect((await put('/users/username@domain-jmapauthentication.tld', { password: 'passwordToBeUsed' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/users' })).json()).toEqual([{ username: 'username@domain-jmapauthentication.tld' }, { username: 'username@domain.tld' }]);
  });

  it('answers 409 when creating an existing user, and changes the password with ?force', async () => {
    await put('/users/alice@domain.tld', { password: 'first' });
    expect((await put('/users/alice@domain.tld', { password: 'second' })).json()).toMatchObject({ statusCode: 409, type: 'WrongState' });
    expect((await put('/users/alice@domain.tld?force', { password: 'second' })).statusCode).toBe(204);
    expect(await identity.users.verifyPassword('alice@domain.tld', 'second')).toBe(true);
  });

  it('verifies a password with 204 / 401, the same 401 for an unknown user', async () => {
    await put('/users/alice@domain.tld', { password: 'secret' });
    const verify = (user: string, password: string) => app.inject({ method: 'POST', url: `/users/${user}/verify`, payload: { password } });
    expect((await verify('alice@domain.tld', 'secret')).statusCode).toBe(204);
    const wrong = await verify('alice@domain.tld', 'nope');
    const unknown = await verify('nobody@domain.tld', 'nope');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());
  });

  it('tests existence with HEAD: 200, 404, and 400 for an invalid name', async () => {
    await put('/users/alice@domain.tld', { password: 'secret' });
    expect((await app.inject({ method: 'HEAD', url: '/users/alice@domain.tld' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'HEAD', url: '/users/bob@domain.tld' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'HEAD', url: '/users/not-an-address' })).statusCode).toBe(400);
  });

  it('manages delegation: GET /users/baseUser/authorizedUsers → ["alice@domain.tld","bob@domain.tld"]', async () => {
    for (const user of ['baseuser@domain.tld', 'alice@domain.tld', 'bob@domain.tld']) await put(`/users/${user}`, { password: 'secret' });
    expect((await put('/users/baseuser@domain.tld/authorizedUsers/bob@domain.tld')).statusCode).toBe(200);
    expect((await put('/users/baseuser@domain.tld/authorizedUsers/alice@domain.tld')).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/users/baseuser@domain.tld/authorizedUsers' })).json()).toEqual(['alice@domain.tld', 'bob@domain.tld']);
    expect((await put('/users/nobody@domain.tld/authorizedUsers/alice@domain.tld')).statusCode).toBe(404);
    expect((await put('/users/baseuser@domain.tld/authorizedUsers/nobody@domain.tld')).statusCode).toBe(400);
    expect((await app.inject({ method: 'DELETE', url: '/users/baseuser@domain.tld/authorizedUsers/bob@domain.tld' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/users/baseuser@domain.tld/authorizedUsers' })).json()).toEqual(['alice@domain.tld']);
    expect((await app.inject({ method: 'DELETE', url: '/users/baseuser@domain.tld/authorizedUsers' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/users/baseuser@domain.tld/authorizedUsers' })).json()).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/users/nobody@domain.tld/authorizedUsers' })).statusCode).toBe(404);
  });

  it('removes the delegations of a removed user', async () => {
    for (const user of ['baseuser@domain.tld', 'alice@domain.tld']) await put(`/users/${user}`, { password: 'secret' });
    await put('/users/baseuser@domain.tld/authorizedUsers/alice@domain.tld');
    expect((await app.inject({ method: 'DELETE', url: '/users/alice@domain.tld' })).statusCode).toBe(204);
    expect(await backends.delegations.authorizedUsers('baseuser@domain.tld')).toEqual([]);
  });

  it('lists the From addresses a user may use: ["user@domain.tld","alias@domain.tld"]', async () => {
    await put('/users/user@domain.tld', { password: 'secret' });
    await put('/address/aliases/user@domain.tld/sources/alias@domain.tld');
    expect((await app.inject({ method: 'GET', url: '/users/user@domain.tld/allowedFromHeaders' })).json()).toEqual(['alias@domain.tld', 'user@domain.tld']);
    expect((await app.inject({ method: 'GET', url: '/users/nobody@domain.tld/allowedFromHeaders' })).statusCode).toBe(404);
  });

  it('disables and enables an account (Postflow route)', async () => {
    await put('/users/alice@domain.tld', { password: 'secret' });
    expect((await put('/users/alice@domain.tld/disabled')).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/users/alice@domain.tld/disabled' })).json()).toEqual({ disabled: true });
    expect((await identity.auth.authenticate({ username: 'alice@domain.tld', password: 'secret', remoteAddress: '127.0.0.1', protocol: 'imap' })).ok).toBe(false);
    expect((await app.inject({ method: 'DELETE', url: '/users/alice@domain.tld/disabled' })).statusCode).toBe(204);
    expect((await identity.auth.authenticate({ username: 'alice@domain.tld', password: 'secret', remoteAddress: '127.0.0.1', protocol: 'imap' })).ok).toBe(true);
  });

  it('refuses a user name that is too long, a password that is too long, and an IDN user lands in punycode', async () => {
    expect((await put(`/users/${'a'.repeat(65)}@domain.tld`, { password: 'x' })).statusCode).toBe(400);
    expect((await put('/users/alice@domain.tld', { password: 'p'.repeat(1025) })).statusCode).toBe(400);
    expect((await put('/domains/bücher.example')).statusCode).toBe(204);
    expect((await put('/users/leser@bücher.example', { password: 'secret' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/users' })).json()).toContainEqual({ username: 'leser@xn--bcher-kva.example' });
    expect((await app.inject({ method: 'GET', url: '/domains/xn--bcher-kva.example' })).statusCode).toBe(204);
  });

  it('refuses to remove the default domain, and a domain with users', async () => {
    await identity.domains.ensureDefaults();
    expect((await app.inject({ method: 'DELETE', url: '/domains/localhost' })).json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('default domain') });
    await put('/users/alice@domain.tld', { password: 'secret' });
    expect((await app.inject({ method: 'DELETE', url: '/domains/domain.tld' })).json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('still has 1 user') });
    expect((await app.inject({ method: 'DELETE', url: '/domains/domain-jmapauthentication.tld' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/domains' })).json()).toEqual(['domain.tld', 'localhost']);
  });
});
