import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createEmbeddedBackends } from '../../src/storage/embedded';
import type { Backends } from '../../src/storage/backends';
import { createIdentityServices, DEFAULT_AUTH_SETTINGS, type IdentityServices } from '../../src/users/identity';
import { createWebAdmin } from '../../src/webadmin/webadmin-server';

/** Identity services over a fresh embedded (SQLite) backend: real storage, no engine to start. */
export async function identityFixture(authOverrides: Partial<typeof DEFAULT_AUTH_SETTINGS> = {}): Promise<{
  identity: IdentityServices;
  backends: Backends;
  cleanup(): Promise<void>;
}> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-rrt-'));
  const logger = pino({ level: 'silent' });
  const backends = await createEmbeddedBackends({ dataDir: dir, logger });
  const identity = createIdentityServices({ ...backends, authSettings: { ...DEFAULT_AUTH_SETTINGS, failureDelayMs: 0, ...authOverrides }, logger });
  return {
    identity,
    backends,
    async cleanup() {
      await backends.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WebAdminFixture {
  app: FastifyInstance;
  identity: IdentityServices;
  backends: Backends;
  cleanup(): Promise<void>;
}

/** The WebAdmin app over `identityFixture`, ready, with the given domains created through its own route. */
export async function webAdminFixture(domains: readonly string[]): Promise<WebAdminFixture> {
  const { identity, backends, cleanup } = await identityFixture();
  const app = createWebAdmin({ identity, mailRepositories: backends.mailRepositories, checks: async () => [], logger: pino({ level: 'silent' }) });
  await app.ready();
  for (const domain of domains) {
    const response = await app.inject({ method: 'PUT', url: `/domains/${domain}` });
    if (response.statusCode !== 204) throw new Error(`PUT /domains/${domain} answered ${response.statusCode}: ${response.body}`);
  }
  return {
    app,
    identity,
    backends,
    async cleanup() {
      await app.close();
      await cleanup();
    },
  };
}
