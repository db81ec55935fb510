import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { createWebAdmin } from '../../src/webadmin/webadmin-server';
import { identityFixture } from '../rrt/rrt-fixture';

/**
 * `/domains` status codes and messages as James' DomainsRoutes answers them (idempotent PUT and
 * DELETE, 404 texts, same-source alias), with the domain names of James' documentation.
 */
describe("WebAdmin /domains as James' DomainsRoutes", () => {
  let app: FastifyInstance;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const fixture = await identityFixture();
    cleanup = fixture.cleanup;
    app = createWebAdmin({ identity: fixture.identity, mailRepositories: fixture.backends.mailRepositories, checks: async () => [], logger: pino({ level: 'silent' }) });
    await app.ready();
  });

  afterEach(async () => {
    await app.close();
    await cleanup();
  });

  const call = (method: 'GET' | 'PUT' | 'DELETE', url: string) => app.inject({ method, url });

  it('creates a domain with 204, and answers 204 again for a domain that exists', async () => {
    expect((await call('PUT', '/domains/domainToBeCreated')).statusCode).toBe(204);
    expect((await call('PUT', '/domains/domainToBeCreated')).statusCode).toBe(204);
    expect((await call('GET', '/domains')).json()).toEqual(expect.arrayContaining(['domaintobecreated']));
    expect((await call('GET', '/domains/domainToBeCreated')).statusCode).toBe(204);
  });

  it('deletes a domain with 204, and answers 204 for a domain that does not exist', async () => {
    expect((await call('PUT', '/domains/domainToBeDeleted')).statusCode).toBe(204);
    expect((await call('DELETE', '/domains/domainToBeDeleted')).statusCode).toBe(204);
    expect((await call('GET', '/domains/domainToBeDeleted')).statusCode).toBe(404);
    expect((await call('DELETE', '/domains/neverExisted.tld')).statusCode).toBe(204);
  });

  it('answers 404 with "The domain list does not contain: …" for a missing domain, 400 for an invalid name', async () => {
    const missing = await call('GET', '/domains/missing.tld');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 404, message: 'The domain list does not contain: missing.tld' });
    expect((await call('PUT', '/domains/invalid..domain')).statusCode).toBe(400);
    expect((await call('PUT', `/domains/${'a'.repeat(300)}.tld`)).statusCode).toBe(400);
  });

  it('lists the aliases of destination.domain.tld as [{"source": "source1.domain.tld"}, …] and refuses a domain aliased to itself', async () => {
    for (const d of ['destination.domain.tld', 'source1.domain.tld', 'source2.domain.tld']) expect((await call('PUT', `/domains/${d}`)).statusCode).toBe(204);
    expect((await call('PUT', '/domains/destination.domain.tld/aliases/source1.domain.tld')).statusCode).toBe(204);
    expect((await call('PUT', '/domains/destination.domain.tld/aliases/source2.domain.tld')).statusCode).toBe(204);
    expect(new Set((await call('GET', '/domains/destination.domain.tld/aliases')).json())).toEqual(new Set([{ source: 'source1.domain.tld' }, { source: 'source2.domain.tld' }]));
    const same = await call('PUT', '/domains/destination.domain.tld/aliases/destination.domain.tld');
    expect(same.statusCode).toBe(400);
    expect(same.json()).toMatchObject({ statusCode: 400, message: 'Source domain and destination domain can not have same value(destination.domain.tld)' });
    const unknown = await call('GET', '/domains/unknown.tld/aliases');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ message: 'The following domain is not in the domain list and has no registered local aliases: unknown.tld' });
    expect((await call('PUT', '/domains/destination.domain.tld/aliases/unknown.tld')).statusCode).toBe(404);
  });
});
