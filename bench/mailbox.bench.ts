/**
 * The mailbox store on both profiles, side by side in one run: embedded (SQLite + files) and
 * distributed (Cassandra + S3, the engines of scripts/engines.sh). For each: append of N messages
 * of 4 KB and of 100 KB (`appendContent`: blob put and MIME parse in one pass, then the metadata
 * write — what IMAP APPEND does), the same with the blob stored first and appended by id (what
 * LocalDelivery does; the append reads and parses the blob), fetch of a 1,000-UID range
 * (metadata, stored headers, full bodies from the blob store), flag update of 1,000 messages (one
 * STORE over the range, and 1,000 one-message STOREs), and the peak RSS growth while one 50 MB
 * message is appended. The targets of issue 3 (embedded profile) are marked pass/fail.
 * The blob store's fsyncs run on libuv's thread pool: `npm start` and this script set
 * UV_THREADPOOL_SIZE=16 (default 4), measured to give 1.5-3x the file puts per second here.
 * Usage: npm run bench:mailbox [-- --messages 10000 --concurrency 16 --profiles embedded,distributed --sync-normal no]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DeleteBucketCommand, DeleteObjectsCommand, ListBucketsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { MAIL_BUCKET, type BlobStore } from '../src/blob/api/blob-store';
import { FileBlobStore } from '../src/blob/file/file-blob-store';
import { S3BlobStore } from '../src/blob/s3/s3-blob-store';
import { loadConfig } from '../src/config/load-config';
import type { EventBus, Registration } from '../src/events/api/event-bus';
import type { MailboxManager } from '../src/mailbox/api/mailbox-manager';
import type { AppendRequest } from '../src/mailbox/api/mailbox-store';
import { StoreMailboxManager } from '../src/mailbox/store-mailbox-manager';
import { CassandraMailboxStore } from '../src/storage/cassandra/cassandra-mailbox-store';
import { CassandraSession } from '../src/storage/cassandra/cassandra-session';
import { migrate } from '../src/storage/sqlite/schema';
import { SqliteMailboxStore } from '../src/storage/sqlite/sqlite-mailbox-store';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const MESSAGES = Number(arg('messages', '10000'));
const CONCURRENCY = Number(arg('concurrency', '16'));
const PROFILES = arg('profiles', 'embedded,distributed').split(',');
/** Adds a column with SQLite `synchronous=NORMAL` (appends only), to show what FULL costs. Information only. */
const NORMAL_COLUMN = arg('sync-normal', 'yes') !== 'no';
const RANGE = 1_000;
const BIG_MESSAGE_BYTES = 50 * 1024 * 1024;
const USER = 'bench@example.com';
/** Issue 3's targets on the embedded profile, in msgs/s, by row. */
const EMBEDDED_TARGETS: Record<string, number> = {
  [`4 KB x ${MESSAGES}: append (put + parse in one pass + store)`]: 1_000,
  [`fetch ${RANGE} UIDs: headers`]: 5_000,
  [`fetch ${RANGE} UIDs: full body (4 KB)`]: 5_000,
};

/** Events are not what is measured: dropped. */
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

interface Profile {
  name: string;
  manager: MailboxManager;
  blobs: BlobStore;
  close(): Promise<void>;
}

async function embedded(synchronous = 'FULL'): Promise<Profile> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-mailbox-bench-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  // Information only: the product always runs FULL (nothing acknowledged is lost).
  if (synchronous !== 'FULL') db.pragma(`synchronous = ${synchronous}`);
  const blobs = await new FileBlobStore(path.join(dir, 'blobs')).init();
  return {
    name: synchronous === 'FULL' ? 'embedded (SQLite + files)' : `embedded, synchronous=${synchronous}`,
    manager: new StoreMailboxManager(new SqliteMailboxStore(db), new NullEventBus(), blobs),
    blobs,
    async close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function distributed(): Promise<Profile> {
  const run = randomBytes(4).toString('hex');
  const config = loadConfig({ env: {}, overrides: { profile: 'distributed', cassandra: { keyspace: `postflow_bench_${run}` }, s3: { bucketPrefix: `pfb-${run}-` } } });
  const session = await CassandraSession.connect(config.cassandra);
  const s3 = S3BlobStore.fromConfig(config.s3);
  return {
    name: 'distributed (Cassandra + S3)',
    manager: new StoreMailboxManager(new CassandraMailboxStore(session), new NullEventBus(), s3),
    blobs: s3,
    async close() {
      // A loaded Cassandra may time out on the DDL: the figures are kept, the keyspace named.
      await session.dropKeyspace().catch((err: unknown) => console.error(`could not drop keyspace ${config.cassandra.keyspace}: ${String(err)}`));
      await session.close();
      const client = s3.client;
      const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
      for (const { Name } of Buckets) {
        if (!Name?.startsWith(config.s3.bucketPrefix)) continue;
        for (;;) {
          const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: Name }));
          if (Contents.length === 0) break;
          await client.send(new DeleteObjectsCommand({ Bucket: Name, Delete: { Objects: Contents.map(({ Key }) => ({ Key })) } }));
        }
        await client.send(new DeleteBucketCommand({ Bucket: Name }));
      }
      s3.close();
    },
  };
}

const bodies = new Map<number, Buffer>();

/** A unique message of about `bytes` octets: unique headers, a text part of printable lines. */
function message(n: number, bytes: number): Buffer {
  const head = Buffer.from(
    `From: Bob <bob@example.net>\r\nTo: ${USER}\r\nSubject: Bench ${n}\r\nMessage-ID: <${n}.${randomBytes(6).toString('hex')}@bench>\r\nDate: Mon, 1 Jul 2024 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`,
  );
  let body = bodies.get(bytes);
  if (!body) {
    const line = `${'lorem ipsum dolor sit amet '.repeat(2)}\r\n`;
    body = Buffer.from(line.repeat(Math.max(1, Math.ceil((bytes - head.length) / line.length))));
    bodies.set(bytes, body);
  }
  return Buffer.concat([head, body, Buffer.from(`${n}\r\n`)]);
}

async function timed(work: () => Promise<number>): Promise<{ count: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const count = await work();
  return { count, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function pool(count: number, work: (n: number) => Promise<void>): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return count;
}

async function putAll(p: Profile, bytes: number, requests: AppendRequest[]): Promise<number> {
  return pool(MESSAGES, async (n) => {
    const stored = await p.blobs.put(MAIL_BUCKET, message(n, bytes));
    requests[n] = { blobId: stored.blobId, size: stored.size, internalDate: new Date() };
  });
}

async function appendAll(p: Profile, mailboxId: string, requests: AppendRequest[]): Promise<number> {
  return pool(requests.length, async (n) => void (await p.manager.appendMessage(mailboxId, requests[n])));
}

async function appendContentAll(p: Profile, mailboxId: string, bytes: number): Promise<number> {
  return pool(MESSAGES, async (n) => void (await p.manager.appendContent(USER, mailboxId, { content: message(n, bytes), internalDate: new Date() })));
}

/** 50 MB with a base64 attachment, generated chunk by chunk (never whole in memory). */
function bigMessage(): Readable {
  const head = Buffer.from('From: a@b.c\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attachment\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n');
  const line = Buffer.from(`${'QUJD'.repeat(19)}\r\n`);
  const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line));
  let written = head.length;
  return Readable.from(
    (function* () {
      yield head;
      while (written < BIG_MESSAGE_BYTES) {
        written += chunk.length;
        yield Buffer.from(chunk);
      }
      yield Buffer.from('--b--\r\n');
    })(),
  );
}

async function peakRssGrowth(p: Profile, mailboxId: string): Promise<{ mb: number; seconds: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = Date.now();
  await p.manager.appendContent(USER, mailboxId, { content: bigMessage(), internalDate: new Date() });
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { mb: (peak - baseline) / 1024 / 1024, seconds: (Date.now() - started) / 1000 };
}

/** `quick`: the 4 KB and 100 KB appends only (the synchronous=NORMAL information column). */
async function benchProfile(p: Profile, quick = false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const rate = (r: { count: number; seconds: number }) => `${Math.round(r.count / r.seconds).toLocaleString('en')} /s`;

  if (!quick) {
    const big = await p.manager.createMailbox(USER, 'Big');
    const rss = await peakRssGrowth(p, big.id);
    out['50 MB message: peak RSS growth (append)'] = `${rss.mb.toFixed(0)} MB in ${rss.seconds.toFixed(1)} s`;
  }

  const small = await p.manager.createMailbox(USER, 'Small');
  for (const [label, bytes] of [
    ['4 KB', 4 * 1024],
    ['100 KB', 100 * 1024],
  ] as const) {
    const mailbox = label === '4 KB' ? small : await p.manager.createMailbox(USER, 'Large');
    out[`${label} x ${MESSAGES}: append (put + parse in one pass + store)`] = rate(await timed(() => appendContentAll(p, mailbox.id, bytes)));
    if (quick) continue;
    const byId = await p.manager.createMailbox(USER, `ById${label.replace(' ', '')}`);
    const requests: AppendRequest[] = [];
    const put = await timed(() => putAll(p, bytes, requests));
    const append = await timed(() => appendAll(p, byId.id, requests));
    out[`${label} x ${MESSAGES}: blob put alone`] = rate(put);
    out[`${label} x ${MESSAGES}: append of a stored blob (read + parse + store)`] = rate(append);
  }
  if (quick) return out;

  const range = [{ from: 1, to: RANGE }];
  for (const group of ['metadata', 'headers'] as const) {
    out[`fetch ${RANGE} UIDs: ${group}`] = rate(
      await timed(async () => {
        let n = 0;
        for await (const m of p.manager.getMessages(USER, small.id, range, group)) if (m.uid > 0) n++;
        return n;
      }),
    );
  }
  out[`fetch ${RANGE} UIDs: full body (4 KB)`] = rate(
    await timed(async () => {
      let n = 0;
      for await (const m of p.manager.getMessages(USER, small.id, range, 'full')) {
        const stream = await (m.openContent as () => Promise<Readable>)();
        for await (const chunk of stream) if ((chunk as Buffer).length < 0) throw new Error('impossible');
        n++;
      }
      return n;
    }),
  );
  out[`STORE +FLAGS on 1:${RANGE} (one call)`] = rate(
    await timed(async () => (await p.manager.updateFlags(USER, small.id, range, { mode: 'add', flags: ['\\Seen'] })).updated.length),
  );
  out[`STORE +FLAGS one message at a time x ${RANGE} (16 concurrent)`] = rate(
    await timed(async () => {
      let uid = 0;
      const worker = async (): Promise<void> => {
        while (uid < RANGE) {
          const mine = ++uid;
          await p.manager.updateFlags(USER, small.id, [{ from: mine, to: mine }], { mode: 'add', flags: ['$Bench'] });
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      return RANGE;
    }),
  );
  return out;
}

async function main(): Promise<void> {
  const results: { name: string; figures: Record<string, string> }[] = [];
  const runs = PROFILES.flatMap((name) => (name === 'embedded' && NORMAL_COLUMN ? ['embedded', 'embedded-normal'] : [name]));
  // A profile that fails (an engine timing out on a loaded machine) gets a "failed" column; the others still print.
  for (const name of runs) {
    let profile: Profile;
    try {
      profile = name === 'embedded' ? await embedded() : name === 'embedded-normal' ? await embedded('NORMAL') : await distributed();
    } catch (err) {
      console.error(err);
      results.push({ name, figures: { status: `failed to start: ${(err as Error).message.slice(0, 60)}` } });
      continue;
    }
    try {
      console.error(`running ${profile.name}…`);
      const figures = await benchProfile(profile, name === 'embedded-normal');
      results.push({ name: profile.name, figures });
      console.error(JSON.stringify(figures));
    } catch (err) {
      console.error(err);
      results.push({ name: profile.name, figures: { status: `failed: ${(err as Error).message.slice(0, 60)}` } });
    } finally {
      await profile.close();
    }
  }
  const rows = [...new Set(results.flatMap((r) => Object.keys(r.figures)))];
  const embeddedResult = results.find((r) => r.name.startsWith('embedded (')) ?? null;
  const width = Math.max(...rows.map((r) => r.length));
  const column = 30;
  console.log(
    `Mailbox bench: ${MESSAGES} messages per append run, ${CONCURRENCY} concurrent appends, node ${process.version}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
  );
  console.log(`${''.padEnd(width)}  ${[...results.map((r) => r.name), 'target (embedded)'].map((n) => n.padEnd(column)).join('  ')}`);
  for (const row of rows) {
    const target = EMBEDDED_TARGETS[row];
    let verdict = '';
    if (target !== undefined && embeddedResult) {
      const value = Number((embeddedResult.figures[row] ?? '').replace(/[^0-9]/g, ''));
      verdict = `>= ${target.toLocaleString('en')} /s: ${value >= target ? 'PASS' : 'FAIL'}`;
    }
    console.log(`${row.padEnd(width)}  ${[...results.map((r) => r.figures[row] ?? ''), verdict].map((v) => v.padEnd(column)).join('  ')}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
