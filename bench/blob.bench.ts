/**
 * Blob store throughput, side by side: put and get of 4 KB, 1 MB and 50 MB blobs on files and on
 * S3, each in clear and encrypted (AES-256-GCM), plus the peak RSS of a process that puts then gets
 * one 50 MB blob as a stream (each 50 MB case runs in a fresh child process, so its VmHWM is its own).
 * Needs S3Proxy (`bash scripts/engines.sh up s3`).
 * Usage: npm run bench:blob [-- --small 1000 --medium 50 --large 3 --rounds 3]
 */
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DeleteBucketCommand, DeleteObjectsCommand, ListBucketsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { MAIL_BUCKET, type BlobStore } from '../src/blob/api';
import { BlobKey } from '../src/blob/encryption/blob-cipher';
import { EncryptingBlobStore } from '../src/blob/encryption/encrypting-blob-store';
import { FileBlobStore } from '../src/blob/file/file-blob-store';
import { S3BlobStore } from '../src/blob/s3/s3-blob-store';
import { loadConfig } from '../src/config/load-config';

type StoreName = 'files' | 'files+aes' | 's3' | 's3+aes';
const STORES: StoreName[] = ['files', 'files+aes', 's3', 's3+aes'];
const KB = 1024;
const MB = 1024 * KB;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Opened {
  store: BlobStore;
  close(): Promise<void>;
}

async function open(name: StoreName, runId: string): Promise<Opened> {
  const key = new BlobKey(randomBytes(32));
  if (name.startsWith('files')) {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-blob-bench-'));
    const files = await new FileBlobStore(dir).init();
    return { store: name === 'files' ? files : new EncryptingBlobStore(files, key), close: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const prefix = `pfbench-${runId}-${name === 's3' ? 'p' : 'e'}-`;
  const config = loadConfig({ env: {}, overrides: { s3: { bucketPrefix: prefix } } });
  const s3 = S3BlobStore.fromConfig(config.s3);
  return {
    store: name === 's3' ? s3 : new EncryptingBlobStore(s3, key),
    async close() {
      await deleteBuckets(s3, prefix);
      s3.close();
    },
  };
}

async function deleteBuckets(s3: S3BlobStore, prefix: string): Promise<void> {
  const { Buckets = [] } = await s3.client.send(new ListBucketsCommand({}));
  for (const { Name } of Buckets) {
    if (!Name?.startsWith(prefix)) continue;
    for (;;) {
      const { Contents = [] } = await s3.client.send(new ListObjectsV2Command({ Bucket: Name }));
      if (Contents.length === 0) break;
      await s3.client.send(new DeleteObjectsCommand({ Bucket: Name, Delete: { Objects: Contents.map(({ Key }) => ({ Key })) } }));
    }
    await s3.client.send(new DeleteBucketCommand({ Bucket: Name }));
  }
}

/** A stream of `size` distinct bytes, generated chunk by chunk (never held whole). */
function generated(size: number, seed: string): Readable {
  const chunk = 256 * KB;
  return Readable.from(
    (function* () {
      for (let offset = 0, i = 0; offset < size; offset += chunk, i++) {
        const pattern = createHash('sha512').update(`${seed}/${i}`).digest();
        yield Buffer.alloc(Math.min(chunk, size - offset), pattern);
      }
    })(),
  );
}

async function drain(stream: Readable): Promise<number> {
  let length = 0;
  for await (const chunk of stream) length += (chunk as Buffer).length;
  return length;
}

interface Figures {
  putMBs: number;
  getMBs: number;
  putOps: number;
  getOps: number;
}

async function measure(store: BlobStore, size: number, count: number): Promise<Figures> {
  const payloads = size <= MB ? Array.from({ length: count }, () => randomBytes(size)) : null;
  const ids: string[] = [];
  let start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const data = payloads ? payloads[i] : generated(size, `${Date.now()}-${i}`);
    ids.push((await store.put(MAIL_BUCKET, data)).blobId);
  }
  const putSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  start = process.hrtime.bigint();
  for (const id of ids) {
    const length = await drain(await store.read(MAIL_BUCKET, id));
    if (length !== size) throw new Error(`read ${length} bytes, expected ${size}`);
  }
  const getSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const megabytes = (size * count) / MB;
  return { putMBs: megabytes / putSeconds, getMBs: megabytes / getSeconds, putOps: count / putSeconds, getOps: count / getSeconds };
}

function rssMb(field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
}

/** Child: one store, `count` 50 MB blobs streamed in and out; reports throughput and peak RSS. */
async function child(name: StoreName, runId: string, count: number): Promise<void> {
  const opened = await open(name, runId);
  try {
    await opened.store.put(MAIL_BUCKET, randomBytes(KB)); // warm-up: bucket, connections
    const baseline = rssMb('VmRSS');
    const figures = await measure(opened.store, 50 * MB, count);
    process.send?.({ ...figures, baselineRssMb: baseline, peakRssMb: rssMb('VmHWM') });
  } finally {
    await opened.close();
  }
}

function runChild(name: StoreName, runId: string, count: number): Promise<Figures & { baselineRssMb: number; peakRssMb: number }> {
  return new Promise((resolve, reject) => {
    const proc = fork(__filename, ['--child', name, '--run', runId, '--large', String(count)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: (Figures & { baselineRssMb: number; peakRssMb: number }) | undefined;
    proc.on('message', (m) => (result = m as typeof result));
    proc.on('error', reject);
    proc.on('exit', (code) => (result ? resolve(result) : reject(new Error(`child ${name} exited with ${code}`))));
  });
}

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(9);

async function main(): Promise<void> {
  const childAt = process.argv.indexOf('--child');
  const runIdAt = process.argv.indexOf('--run');
  if (childAt > 0) return child(process.argv[childAt + 1] as StoreName, process.argv[runIdAt + 1], arg('large', 3));

  const runId = randomBytes(3).toString('hex');
  const small = arg('small', 1000);
  const medium = arg('medium', 50);
  const large = arg('large', 3);
  const rounds = arg('rounds', 3);
  console.log(`Blob store bench: ${small} × 4 KB and ${medium} × 1 MB per store and round (${rounds} rounds, stores interleaved, median shown),`);
  console.log(`${large} × 50 MB per store in a fresh child process; sequential puts then gets; the file store fsyncs every put.`);
  console.log(`node ${process.version}, S3 = S3Proxy (filesystem backend) on ${loadConfig({ env: {} }).s3.endpoint}\n`);
  const opened = new Map<StoreName, Opened>();
  const results = new Map<string, Figures[]>();
  try {
    for (const name of STORES) {
      const store = await open(name, runId);
      opened.set(name, store);
      await store.store.put(MAIL_BUCKET, randomBytes(KB));
    }
    for (let round = 0; round < rounds; round++) {
      for (const [label, size, count] of [['4KB', 4 * KB, small], ['1MB', MB, medium]] as const) {
        for (const name of STORES) {
          const figures = await measure((opened.get(name) as Opened).store, size, count);
          results.set(`${name}/${label}`, [...(results.get(`${name}/${label}`) ?? []), figures]);
        }
      }
      console.log(`  round ${round + 1}/${rounds} done`);
    }
  } finally {
    for (const store of opened.values()) await store.close();
  }
  const median = (key: string, field: keyof Figures): number => {
    const values = (results.get(key) ?? []).map((f) => f[field]).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)];
  };
  const header = `${'store'.padEnd(10)} | ${'4KB put/s'.padStart(9)} ${'4KB get/s'.padStart(9)} ${'put MB/s'.padStart(9)} ${'get MB/s'.padStart(9)} | ${'1MB put'.padStart(9)} ${'1MB get'.padStart(9)} | ${'50MB put'.padStart(9)} ${'50MB get'.padStart(9)} | ${'RSS base'.padStart(9)} ${'RSS peak'.padStart(9)}`;
  const rows: string[] = [];
  for (const name of STORES) {
    const largeFigures = await runChild(name, runId, large);
    rows.push(
      `${name.padEnd(10)} | ${fmt(median(`${name}/4KB`, 'putOps'), 0)} ${fmt(median(`${name}/4KB`, 'getOps'), 0)} ${fmt(median(`${name}/4KB`, 'putMBs'), 2)} ${fmt(median(`${name}/4KB`, 'getMBs'), 2)} | ${fmt(median(`${name}/1MB`, 'putMBs'))} ${fmt(median(`${name}/1MB`, 'getMBs'))} | ${fmt(largeFigures.putMBs)} ${fmt(largeFigures.getMBs)} | ${fmt(largeFigures.baselineRssMb, 0)} ${fmt(largeFigures.peakRssMb, 0)}`,
    );
  }
  console.log(`\n${header}`);
  console.log('-'.repeat(header.length));
  for (const row of rows) console.log(row);
  console.log('\n4 KB in operations/s and MB/s; 1 MB and 50 MB in MB/s; RSS in MB of the 50 MB child process (VmRSS after warm-up, VmHWM at the end).');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
