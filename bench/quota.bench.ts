/**
 * What quotas cost on the mail path, both profiles side by side in one run: N appends of a 4 KB
 * message (blob stored first, appended by id: what LocalDelivery does) without and with the quota
 * check (limits of three scopes and the usage read before each append), and the usage listener's
 * work per mailbox event (the usage recomputed from the user's mailbox counters, then written).
 * Usage: npm run bench:quota [-- --messages 2000 --concurrency 16 --profiles embedded,distributed]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MAIL_BUCKET, type BlobStore } from '../src/blob/api/blob-store';
import { FileBlobStore } from '../src/blob/file/file-blob-store';
import { loadConfig } from '../src/config/load-config';
import type { EventBus, Registration } from '../src/events/api/event-bus';
import type { QuotaStore } from '../src/quota/api/quota';
import { QuotaService } from '../src/quota/quota-service';
import { StoreMailboxManager } from '../src/mailbox/store-mailbox-manager';
import { CassandraMailboxStore } from '../src/storage/cassandra/cassandra-mailbox-store';
import { CassandraQuotaStore } from '../src/storage/cassandra/cassandra-quota-store';
import { CassandraSession } from '../src/storage/cassandra/cassandra-session';
import { migrate } from '../src/storage/sqlite/schema';
import { SqliteMailboxStore } from '../src/storage/sqlite/sqlite-mailbox-store';
import { SqliteQuotaStore } from '../src/storage/sqlite/sqlite-quota-store';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const MESSAGES = Number(arg('messages', '2000'));
const CONCURRENCY = Number(arg('concurrency', '16'));
const PROFILES = arg('profiles', 'embedded,distributed').split(',');

class NullEventBus implements EventBus {
  async dispatch(): Promise<void> {}
  async registerMailboxListener(): Promise<Registration> {
    return { unregister: async () => undefined };
  }
  async registerGroupListener(): Promise<Registration> {
    return { unregister: async () => undefined };
  }
  async reDeliver(): Promise<void> {}
}

interface Fixture {
  mailboxes: () => StoreMailboxManager;
  quotas: QuotaStore;
  close(): Promise<void>;
}

async function embedded(blobs: BlobStore): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-quota-bench-'));
  const db = new Database(path.join(dir, 'bench.db'));
  migrate(db);
  return {
    mailboxes: () => new StoreMailboxManager(new SqliteMailboxStore(db), new NullEventBus(), blobs),
    quotas: new SqliteQuotaStore(db),
    async close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function distributed(blobs: BlobStore): Promise<Fixture> {
  const config = loadConfig({ env: {}, overrides: { profile: 'distributed', cassandra: { keyspace: `postflow_bench_quota_${randomBytes(3).toString('hex')}` } } });
  const session = await CassandraSession.connect(config.cassandra);
  return {
    mailboxes: () => new StoreMailboxManager(new CassandraMailboxStore(session), new NullEventBus(), blobs),
    quotas: new CassandraQuotaStore(session),
    async close() {
      await session.dropKeyspace();
      await session.close();
    },
  };
}

async function appendAll(manager: StoreMailboxManager, user: string, blobId: string, size: number): Promise<number> {
  const inbox = await manager.ensureMailbox(user, 'INBOX');
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < MESSAGES) {
        next++;
        await manager.appendMessage(inbox.id, { blobId, size, internalDate: new Date() });
      }
    }),
  );
  return MESSAGES / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  const blobDir = mkdtempSync(path.join(tmpdir(), 'postflow-quota-bench-blobs-'));
  const blobs = await new FileBlobStore(blobDir).init();
  const message = Buffer.concat([Buffer.from('From: a@remote.example\r\nTo: b@bench.example\r\nSubject: bench\r\n\r\n'), Buffer.alloc(4096, 'x')]);
  const { blobId, size } = await blobs.put(MAIL_BUCKET, message);
  console.log(`quota bench: ${MESSAGES} appends of ${size} octets, concurrency ${CONCURRENCY} (figures from a shared machine are noisy)`);
  console.log('profile      | appends/s no quota | appends/s quota check | usage recompute per event (ms, 6 mailboxes)');
  for (const profile of PROFILES) {
    const fixture = profile === 'embedded' ? await embedded(blobs) : await distributed(blobs);
    try {
      const plain = await appendAll(fixture.mailboxes(), 'plain@bench.example', blobId, size);
      const checked = fixture.mailboxes();
      const quota = new QuotaService(fixture.quotas, checked);
      checked.setQuotaChecker(quota);
      await fixture.quotas.setLimit('global', '', 'count', 10_000_000);
      await fixture.quotas.setLimit('domain', 'bench.example', 'size', 10 ** 12);
      const withQuota = await appendAll(checked, 'checked@bench.example', blobId, size);
      await checked.provisionUser('checked@bench.example');
      const rounds = 200;
      const started = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) await quota.recompute('checked@bench.example');
      const perEvent = Number(process.hrtime.bigint() - started) / 1e6 / rounds;
      console.log(`${profile.padEnd(12)} | ${plain.toFixed(0).padStart(18)} | ${withQuota.toFixed(0).padStart(21)} | ${perEvent.toFixed(2)}`);
    } finally {
      await fixture.close();
    }
  }
  rmSync(blobDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
