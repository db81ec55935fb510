import { randomBytes, randomUUID } from 'node:crypto';
import { testMailReference } from '../helpers/mail-reference';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import Fastify from 'fastify';
import pino from 'pino';
import { GC_SCRATCH_BUCKET, createBlobGcActivities, type BlobGcActivities } from '../../activities/blob-gc-activities';
import { MAIL_BUCKET, type BlobInfo, type BlobReferenceSource, type BlobStore, type ListOptions } from '../../src/blob/api';
import { InFlightMailReferences } from '../../src/blob/gc/in-flight-mail-references';
import { S3BlobStore } from '../../src/blob/s3/s3-blob-store';
import { startBlobGc } from '../../src/blob/gc/start-blob-gc';
import type { MailReference } from '../../src/core/mail';
import type { Backends } from '../../src/storage/backends';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { createDistributedBackends } from '../../src/storage/distributed';
import { createEmbeddedBackends } from '../../src/storage/embedded';
import { registerErrorHandling } from '../../src/webadmin/errors';
import { blobRoutes } from '../../src/webadmin/routes/blobs';
import { DEFAULT_GRACE_PERIOD_MS, type BlobGcProgress, type CollectGarbageBlobsInput } from '../../workflows/blob-gc';
import { RabbitMqAdmin } from '../events/rabbitmq-admin';
import { deleteBuckets, distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { silentBundlerLogger } from '../../workers/mail-worker';

/**
 * The collectGarbageBlobs workflow on a real Temporal server, against both profiles' real stores
 * (embedded with encryption at rest, distributed in clear).
 */
const runId = newRunId();
/** The Temporal of `scripts/engines.sh` (as in test/helpers/postflow.ts, not imported: it loads the whole app). */
const TEST_TEMPORAL_ADDRESS = process.env.POSTFLOW_TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const TASK_QUEUE = `blob-gc-test-${runId}`;
/** No worker polls it: a processMail started there stays running (a mail in flight). */
const IDLE_QUEUE = `blob-gc-idle-${runId}`;
/** Short grace so blobs age within a test; S3 dates are whole seconds, so waits exceed it by more. */
const GRACE_MS = 3_000;
const AGE_WAIT_MS = GRACE_MS + 1_600;
const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
/** The worker's activities delegate to the current test's. */
let active: BlobGcActivities | null = null;
const inFlightWorkflows: string[] = [];

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Installed by an earlier suite of this process.
  }
  await requireEngines(distributedTestConfig(runId), 'cassandra', 's3', 'rabbitmq');
  connection = await Connection.connect({ address: TEST_TEMPORAL_ADDRESS });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address: TEST_TEMPORAL_ADDRESS });
  const current = (): BlobGcActivities => {
    if (!active) throw new Error('no test is running');
    return active;
  };
  worker = await Worker.create({
    connection: nativeConnection,
    taskQueue: TASK_QUEUE,
    // Only this workflow (plus the processMail type name, started on an idle queue): the suite does
    // not depend on the rest of the workflow code compiling.
    workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows/blob-gc'), logger: silentBundlerLogger }),
    activities: {
      buildReferenceFilter: (input: Parameters<BlobGcActivities['buildReferenceFilter']>[0]) => current().buildReferenceFilter(input),
      sweepBlobs: (input: Parameters<BlobGcActivities['sweepBlobs']>[0]) => current().sweepBlobs(input),
      discardReferenceFilter: (id: string) => current().discardReferenceFilter(id),
    },
    // Cancellation reaches an activity with its next heartbeat: keep them frequent here.
    defaultHeartbeatThrottleInterval: '100 milliseconds',
    maxHeartbeatThrottleInterval: '200 milliseconds',
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  for (const workflowId of inFlightWorkflows) await client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
  worker?.shutdown();
  await running?.catch(() => undefined);
  await nativeConnection?.close();
  await connection?.close();
});

function message(subject: string): Buffer {
  return Buffer.from(
    [
      'From: Sender <sender@remote.example>',
      'To: alice@example.test',
      `Subject: ${subject}`,
      `Message-ID: <${randomUUID()}@remote.example>`,
      'Date: Mon, 30 Nov 2026 12:00:00 +0000',
      '',
      `${subject} ${randomBytes(8).toString('hex')}`,
      '',
    ].join('\r\n'),
  );
}

function mailReference(messageBlobId: string, size: number): MailReference {
  return testMailReference({ name: 'mail', messageBlobId, size });
}

async function listIds(blobs: BlobStore, bucket: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of blobs.list(bucket)) ids.push(...page.map((b) => b.blobId));
  return ids;
}

/** A source that runs `hook` before its `call`-th scan (1-based): mail arriving while the collector runs. */
function hooked(source: BlobReferenceSource, call: number, hook: () => Promise<void>): BlobReferenceSource & { calls: number } {
  const wrapper = {
    name: source.name,
    kind: source.kind,
    calls: 0,
    async *references(signal?: AbortSignal) {
      wrapper.calls++;
      if (wrapper.calls === call) await hook();
      yield* source.references(signal);
    },
  };
  return wrapper;
}

/** The real store, listing one blob per page with a pause: a sweep slow enough to be watched and cancelled. */
function slowListing(blobs: BlobStore, pauseMs: number): BlobStore {
  return {
    put: (b, d, o) => blobs.put(b, d, o),
    read: (b, id) => blobs.read(b, id),
    readBytes: (b, id) => blobs.readBytes(b, id),
    exists: (b, id) => blobs.exists(b, id),
    stat: (b, id) => blobs.stat(b, id),
    delete: (b, id) => blobs.delete(b, id),
    deleteIfUnmodifiedSince: (b, id, c) => blobs.deleteIfUnmodifiedSince(b, id, c),
    async *list(bucket: string, options?: ListOptions): AsyncIterable<BlobInfo[]> {
      for await (const page of blobs.list(bucket, { ...options, pageSize: 1 })) {
        if (bucket === MAIL_BUCKET) await sleep(pauseMs);
        yield page;
      }
    },
  };
}

/** The messages of an error and of its causes (a workflow failure wraps the activity's). */
function causes(err: unknown): string {
  const messages: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(String(e.message));
  return messages.join(' <- ');
}

async function runGc(input: CollectGarbageBlobsInput): Promise<BlobGcProgress> {
  return client.workflow.execute('collectGarbageBlobs', { workflowId: `blob-gc-test-${randomUUID()}`, taskQueue: TASK_QUEUE, args: [input] });
}

async function startInFlightMail(mail: MailReference): Promise<void> {
  const workflowId = `mail-gc-test-${mail.mailId}`;
  await client.workflow.start('processMail', { workflowId, taskQueue: IDLE_QUEUE, args: [mail] });
  inFlightWorkflows.push(workflowId);
}

describe.each([
  [
    'embedded (SQLite + files, encrypted)',
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-gc-'));
      const backends = await createEmbeddedBackends({ dataDir, logger, blobStore: { encryption: { key: randomBytes(32).toString('base64') } } });
      return { backends, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  ],
  [
    'distributed (Cassandra + S3)',
    async () => {
      const config = distributedTestConfig(runId, { s3: { bucketPrefix: `pfgc-${runId}-` } });
      const backends = await createDistributedBackends({ config, logger });
      return {
        backends,
        cleanup: async () => {
          const session = await CassandraSession.connect(config.cassandra);
          await session.dropKeyspace();
          await session.close();
          const s3 = S3BlobStore.fromConfig(config.s3);
          await deleteBuckets(s3.client, config.s3.bucketPrefix);
          s3.close();
          // The distributed backends declared this run's event exchanges and queues on the shared broker.
          await new RabbitMqAdmin(config).deleteByPrefix(config.rabbitmq.prefix);
        },
      };
    },
  ],
])('Blob garbage collection on %s', (_profile, makeBackends) => {
  let backends: Backends;
  let cleanup: () => Promise<void>;
  let inFlight: InFlightMailReferences;

  beforeAll(async () => {
    ({ backends, cleanup } = await makeBackends());
    inFlight = new InFlightMailReferences(client);
  }, 120_000);

  afterAll(async () => {
    await backends?.close();
    await cleanup?.();
  }, 60_000);

  beforeEach(async () => {
    // Each test starts from an empty mail bucket (blobs of earlier tests are not its business).
    for (const id of await listIds(backends.blobs, MAIL_BUCKET)) await backends.blobs.delete(MAIL_BUCKET, id);
    active = createBlobGcActivities({ blobs: backends.blobs, references: [inFlight, backends.blobReferences!], logger });
  });

  afterEach(() => {
    active = null;
  });

  async function deliver(owner: string, bytes: Buffer): Promise<string> {
    const { blobId, size } = await backends.blobs.put(MAIL_BUCKET, bytes);
    const inbox = await backends.mailboxes.ensureMailbox(owner, 'INBOX');
    await backends.mailboxes.appendMessage(inbox.id, { blobId, size, internalDate: new Date() });
    return blobId;
  }

  it('removes an old orphan and never a blob referenced by a message, a mail repository, a mail in flight, or written during the run', async () => {
    const owner = `alice-${randomUUID().slice(0, 8)}@example.test`;
    // Older than the grace period by the time the collector runs:
    const inMailbox = await deliver(owner, message('in a mailbox'));
    const repositoryBytes = message('in the error repository');
    const inRepository = await backends.blobs.put(MAIL_BUCKET, repositoryBytes);
    await backends.mailRepositories.store('var/mail/error/', `${randomUUID()}/mail`, mailReference(inRepository.blobId, inRepository.size));
    const inFlightBytes = message('waiting for a remote retry');
    const inFlightBlob = await backends.blobs.put(MAIL_BUCKET, inFlightBytes);
    await startInFlightMail(mailReference(inFlightBlob.blobId, inFlightBlob.size));
    const orphan = (await backends.blobs.put(MAIL_BUCKET, message('expunged long ago'))).blobId;
    const resurrectedBytes = message('expunged, then received again');
    const resurrected = (await backends.blobs.put(MAIL_BUCKET, resurrectedBytes)).blobId;
    await sleep(AGE_WAIT_MS);
    // Within the grace period:
    const youngOrphan = (await backends.blobs.put(MAIL_BUCKET, message('just stored, not yet referenced'))).blobId;

    // After the stored sources were scanned (the last in-flight pass): mail keeps arriving, one
    // of them with the very bytes of the old orphan `resurrected` (a deduplicated put).
    let arrived = '';
    const lastInFlightPass = hooked(inFlight, 3, async () => {
      arrived = await deliver(owner, message('arrived during the collection'));
      expect(await deliver(owner, resurrectedBytes)).toBe(resurrected);
    });
    active = createBlobGcActivities({ blobs: backends.blobs, references: [lastInFlightPass, backends.blobReferences!], logger });

    const result = await runGc({ gracePeriodMs: GRACE_MS });

    expect(lastInFlightPass.calls).toBe(3);
    expect(result.phase).toBe('completed');
    expect(await backends.blobs.exists(MAIL_BUCKET, orphan)).toBe(false);
    for (const kept of [inMailbox, inRepository.blobId, inFlightBlob.blobId, resurrected, youngOrphan, arrived]) {
      expect(await backends.blobs.exists(MAIL_BUCKET, kept)).toBe(true);
    }
    expect(await backends.blobs.readBytes(MAIL_BUCKET, resurrected)).toEqual(resurrectedBytes);
    expect(result).toMatchObject({ deleted: 1, listed: 7, young: 3, referenced: 3, refreshed: 0 });
    expect(result.deletedBytes).toBeGreaterThan(0);
    expect(result.referencesBySource['in-flight workflows']).toBeGreaterThanOrEqual(3);
    // The run's scratch filter is gone.
    expect(await listIds(backends.blobs, GC_SCRATCH_BUCKET)).toEqual([]);
  }, 90_000);

  it('counts without deleting in a dry run', async () => {
    const orphan = (await backends.blobs.put(MAIL_BUCKET, message('orphan of a dry run'))).blobId;
    await sleep(AGE_WAIT_MS);
    const result = await runGc({ gracePeriodMs: GRACE_MS, dryRun: true });
    expect(result).toMatchObject({ phase: 'completed', dryRun: true, deleted: 1, listed: 1 });
    expect(await backends.blobs.exists(MAIL_BUCKET, orphan)).toBe(true);
  }, 60_000);

  it('exposes its progress by query and stops when cancelled, removing its filter and deleting nothing more', async () => {
    const orphans: string[] = [];
    for (let i = 0; i < 12; i++) orphans.push((await backends.blobs.put(MAIL_BUCKET, message(`orphan ${i}`))).blobId);
    await sleep(AGE_WAIT_MS);
    active = createBlobGcActivities({ blobs: slowListing(backends.blobs, 400), references: [inFlight, backends.blobReferences!], logger });
    const handle = await client.workflow.start('collectGarbageBlobs', {
      workflowId: `blob-gc-test-${randomUUID()}`,
      taskQueue: TASK_QUEUE,
      args: [{ gracePeriodMs: GRACE_MS } satisfies CollectGarbageBlobsInput],
    });
    let progress: BlobGcProgress | null = null;
    for (let i = 0; i < 100; i++) {
      progress = await handle.query<BlobGcProgress>('progress');
      if (progress.phase === 'sweeping' && progress.filterBlobId) break;
      await sleep(100);
    }
    expect(progress?.phase).toBe('sweeping');
    expect(progress?.filterBlobId).toBeTruthy();
    expect(progress?.cutoff).toBeTruthy();
    expect(await listIds(backends.blobs, GC_SCRATCH_BUCKET)).toEqual([progress?.filterBlobId]);

    await handle.cancel();
    const failure = await handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect((await handle.query<BlobGcProgress>('progress')).phase).toBe('cancelled');
    expect(await listIds(backends.blobs, GC_SCRATCH_BUCKET)).toEqual([]);
    for (const id of orphans) expect(await backends.blobs.exists(MAIL_BUCKET, id)).toBe(true);
  }, 90_000);

  it('refuses to run without a stored reference source, deleting nothing', async () => {
    const orphan = (await backends.blobs.put(MAIL_BUCKET, message('kept: no stored source'))).blobId;
    active = createBlobGcActivities({ blobs: backends.blobs, references: [inFlight], logger });
    const failure = await runGc({ gracePeriodMs: 0 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(causes(failure)).toMatch(/No stored blob reference source/);
    expect(await backends.blobs.exists(MAIL_BUCKET, orphan)).toBe(true);
  }, 60_000);
});

describe('collectGarbageBlobs input', () => {
  it.each([
    [{ associatedProbability: 2 }, /associatedProbability/],
    [{ expectedBlobCount: 0 }, /expectedBlobCount/],
    [{ gracePeriodMs: -1 }, /gracePeriodMs/],
    [{ buckets: ['gc-scratch'] }, /buckets/],
    [{ buckets: ['../etc'] }, /buckets/],
  ])('fails fast on %j', async (input, message) => {
    const failure = await runGc(input as CollectGarbageBlobsInput).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(causes(failure)).toMatch(message);
  }, 30_000);
});

describe('WebAdmin DELETE /blobs?scope=unreferenced', () => {
  let dataDir: string;
  let backends: Backends;
  const app = Fastify();

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-gc-route-'));
    backends = await createEmbeddedBackends({ dataDir, logger });
    registerErrorHandling(app);
    app.register(blobRoutes({ startBlobGc: (request) => startBlobGc(client, TASK_QUEUE, request) }));
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await backends?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    active = createBlobGcActivities({ blobs: backends.blobs, references: [new InFlightMailReferences(client), backends.blobReferences!], logger });
  });

  it("answers 201 with the task id (the workflow id) and runs the collection with James' parameters", async () => {
    const young = (await backends.blobs.put(MAIL_BUCKET, message('young orphan'))).blobId;
    const response = await app.inject({ method: 'DELETE', url: '/blobs?scope=unreferenced&expectedBlobCount=5000&associatedProbability=0.05' });
    expect(response.statusCode).toBe(201);
    const { taskId } = response.json<{ taskId: string }>();
    expect(taskId).toMatch(/^blob-gc-[0-9a-f-]{36}$/);
    const result = await client.workflow.getHandle(taskId).result();
    expect(result).toMatchObject({ phase: 'completed', expectedBlobCount: 5000, associatedProbability: 0.05, dryRun: false, young: 1, deleted: 0 });
    // The default grace period: a week.
    expect(Date.parse(result.startedAt) - Date.parse(result.cutoff)).toBe(DEFAULT_GRACE_PERIOD_MS);
    expect(await backends.blobs.exists(MAIL_BUCKET, young)).toBe(true);
  }, 60_000);

  it('takes dryRun=true', async () => {
    const response = await app.inject({ method: 'DELETE', url: '/blobs?scope=unreferenced&dryRun=true' });
    expect(response.statusCode).toBe(201);
    expect(await client.workflow.getHandle(response.json<{ taskId: string }>().taskId).result()).toMatchObject({ phase: 'completed', dryRun: true });
  }, 60_000);

  it.each([
    ['/blobs', /scope/],
    ['/blobs?scope=all', /scope/],
    ['/blobs?scope=unreferenced&expectedBlobCount=-3', /expectedBlobCount/],
    ['/blobs?scope=unreferenced&expectedBlobCount=1.5', /expectedBlobCount/],
    ['/blobs?scope=unreferenced&expectedBlobCount=999999999999', /expectedBlobCount/],
    ['/blobs?scope=unreferenced&associatedProbability=1', /associatedProbability/],
    ['/blobs?scope=unreferenced&associatedProbability=abc', /associatedProbability/],
    ['/blobs?scope=unreferenced&dryRun=yes', /dryRun/],
  ])('answers 400 with a message to DELETE %s, starting nothing', async (url, message) => {
    const response = await app.inject({ method: 'DELETE', url });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, type: 'InvalidArgument', message: expect.stringMatching(message) });
  });
});

describe('InFlightMailReferences', () => {
  it('sees the mail of a remote delivery waiting for its retry, which outlived its processMail', async () => {
    const blobId = randomBytes(32).toString('hex');
    const workflowId = `outgoing-gc-test-${randomUUID()}`;
    // deliverRemotely is started with ParentClosePolicy.ABANDON: once processMail ends, its input is the mail's only reference.
    await client.workflow.start('deliverRemotely', { workflowId, taskQueue: IDLE_QUEUE, args: [{ domain: 'remote.example', settings: { queue: 'outgoing' }, mail: mailReference(blobId, 10) }] });
    inFlightWorkflows.push(workflowId);
    const references = new InFlightMailReferences(client);
    let seen: string[] = [];
    // Visibility lists a new execution after a short lag.
    for (let attempt = 0; attempt < 50 && !seen.includes(blobId); attempt++) {
      seen = [];
      for await (const page of references.references()) seen.push(...page);
      if (!seen.includes(blobId)) await sleep(200);
    }
    expect(seen).toContain(blobId);
    // What the collector saw before deliverRemotely was listed among the in-flight types.
    const processMailOnly: string[] = [];
    for await (const page of new InFlightMailReferences(client, ['processMail']).references()) processMailOnly.push(...page);
    expect(processMailOnly).not.toContain(blobId);
  });
});
