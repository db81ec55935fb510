import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createEmbeddedBackends } from '../../src/storage/embedded';
import type { Backends } from '../../src/storage/backends';
import { createIdentityServices, DEFAULT_AUTH_SETTINGS, type IdentityServices } from '../../src/users/identity';

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
