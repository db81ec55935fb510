import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { createEmbeddedBackends } from '../../src/storage/embedded';
import type { Backends, HealthCheck } from '../../src/storage/backends';
import { createIdentityServices } from '../../src/users/identity';
import { createWebAdmin } from '../../src/webadmin/webadmin-server';

describe('WebAdmin', () => {
  let dir: string;
  let backends: Backends;
  let app: FastifyInstance;
  let health: HealthCheck[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-webadmin-'));
    const logger = pino({ level: 'silent' });
    backends = await createEmbeddedBackends({ dataDir: dir, logger });
    app = createWebAdmin({
      identity: createIdentityServices({ ...backends, logger }),
      mailRepositories: backends.mailRepositories,
      checks: async () => health,
      logger,
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await backends.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    health = [{ componentName: 'SQLite', status: 'healthy', cause: null }];
  });

  it('creates a domain idempotently and lists it', async () => {
    expect((await app.inject({ method: 'PUT', url: '/domains/Example.ORG' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'PUT', url: '/domains/example.org' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/domains/example.org' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/domains' })).json()).toEqual(['example.org']);
  });

  it('refuses an invalid domain name with 400 and James\' error body', async () => {
    const response = await app.inject({ method: 'PUT', url: '/domains/not_a%20domain' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, type: 'InvalidArgument', message: expect.stringContaining('Invalid domain name') });
  });

  it('creates a user of a managed domain', async () => {
    await app.inject({ method: 'PUT', url: '/domains/example.org' });
    const response = await app.inject({ method: 'PUT', url: '/users/Carol@example.org', payload: { password: 'secret' } });
    expect(response.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/users' })).json()).toContainEqual({ username: 'carol@example.org' });
  });

  it('refuses a user of an unknown domain, a bad user name and an empty password', async () => {
    expect((await app.inject({ method: 'PUT', url: '/users/dave@unknown.org', payload: { password: 'x' } })).json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('not managed') });
    expect((await app.inject({ method: 'PUT', url: '/users/no-at-sign', payload: { password: 'x' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'PUT', url: '/users/erin@example.org', payload: { password: '' } })).json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('non-empty') });
    expect((await app.inject({ method: 'PUT', url: '/users/erin@example.org', payload: { password: 'p'.repeat(2000) } })).statusCode).toBe(400);
  });

  it('answers 400 to invalid JSON and to a body without password', async () => {
    const invalid = await app.inject({ method: 'PUT', url: '/users/frank@example.org', headers: { 'content-type': 'application/json' }, payload: '{"password": ' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ statusCode: 400, type: 'InvalidArgument' });
    const missing = await app.inject({ method: 'PUT', url: '/users/frank@example.org', payload: { pass: 'x' } });
    expect(missing.statusCode).toBe(400);
  });

  it('answers 404 to an unknown route', async () => {
    const response = await app.inject({ method: 'GET', url: '/no/such/route' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ statusCode: 404, type: 'notFound' });
  });

  it('refuses to remove a domain that still has users', async () => {
    await app.inject({ method: 'PUT', url: '/domains/busy.org' });
    await app.inject({ method: 'PUT', url: '/users/gina@busy.org', payload: { password: 'x' } });
    expect((await app.inject({ method: 'DELETE', url: '/domains/busy.org' })).statusCode).toBe(400);
  });

  it('reports 503 with the cause when a component is unhealthy', async () => {
    health = [{ componentName: 'Cassandra', status: 'unhealthy', cause: 'connection refused' }];
    const response = await app.inject({ method: 'GET', url: '/healthcheck' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unhealthy',
      checks: [{ componentName: 'Cassandra', escapedComponentName: 'Cassandra', status: 'unhealthy', cause: 'connection refused' }],
    });
  });
});
