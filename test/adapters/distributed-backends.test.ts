import amqp from 'amqplib';
import pino from 'pino';
import type { PostflowConfig } from '../../src/config/schema';
import type { MailboxEvent } from '../../src/events/api/event-bus';
import type { Backends } from '../../src/storage/backends';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { createDistributedBackends } from '../../src/storage/distributed';
import { createS3Client } from '../../src/blob/s3/s3-blob-store';
import { deleteBuckets, distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';

const logger = pino({ level: 'silent' });
const runId = newRunId();
const config = distributedTestConfig(runId);
let backends: Backends;

beforeAll(async () => {
  await requireEngines(config, 'cassandra', 's3', 'rabbitmq');
  backends = await createDistributedBackends({ config, logger });
}, 120_000);

afterAll(async () => {
  if (!backends) return;
  await backends.close();
  // The keyspace, buckets and exchanges of this run go with it.
  const s3 = createS3Client(config.s3);
  await deleteBuckets(s3, config.s3.bucketPrefix);
  s3.destroy();
  const session = await CassandraSession.connect(config.cassandra);
  await session.dropKeyspace();
  await session.close();
  const connection = await amqp.connect(config.rabbitmq.uri);
  const channel = await connection.createChannel();
  for (const prefix of [config.rabbitmq.prefix, `${config.rabbitmq.prefix}x`]) {
    // The fanout exchange (`-all`) too: deleting only the direct one leaked it on the shared broker.
    for (const exchange of [`${prefix}-mailbox-events`, `${prefix}-mailbox-events-all`]) await channel.deleteExchange(exchange);
  }
  await connection.close();
}, 60_000);

it('reports Cassandra, S3, RabbitMQ and OpenSearch healthy', async () => {
  expect(await backends.checkHealth()).toEqual([
    { componentName: 'Cassandra', status: 'healthy', cause: null },
    { componentName: 'S3', status: 'healthy', cause: null },
    { componentName: 'RabbitMQ', status: 'healthy', cause: null },
    { componentName: 'OpenSearch', status: 'healthy', cause: null },
  ]);
});

it('dispatches an Added event to the key listener of the mailbox a message is appended to', async () => {
  const mailbox = await backends.mailboxes.ensureMailbox('alice@example.com', 'INBOX');
  const events: MailboxEvent[] = [];
  await backends.events.registerMailboxListener(mailbox.id, { handle: async (e) => void events.push(e) });
  const blob = await backends.blobs.put('mail', Buffer.from('Subject: hi\r\n\r\nhello\r\n'));
  const message = await backends.mailboxes.appendMessage(mailbox.id, { blobId: blob.blobId, size: blob.size, internalDate: new Date() });
  const deadline = Date.now() + 5_000;
  while (events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(events).toEqual([expect.objectContaining({ type: 'Added', mailboxId: mailbox.id, uids: [message.uid], modSeq: message.modSeq, user: 'alice@example.com' })]);
  expect(await backends.blobs.readBytes('mail', message.blobId)).toEqual(Buffer.from('Subject: hi\r\n\r\nhello\r\n'));
});

describe('when an engine is unreachable at start-up', () => {
  // Port 1 on the loopback refuses connections at once.
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['Cassandra', { cassandra: { contactPoints: ['127.0.0.1:1'] } }, /^Cannot reach Cassandra at 127\.0\.0\.1:1: /],
    ['S3', { s3: { endpoint: 'http://127.0.0.1:1' } }, /Cannot reach S3 at http:\/\/127\.0\.0\.1:1: /],
    ['RabbitMQ', { rabbitmq: { uri: 'amqp://guest:secret@127.0.0.1:1' } }, /Cannot reach RabbitMQ at amqp:\/\/127\.0\.0\.1:1: /],
  ];
  it.each(cases)('refuses to start within 15 s with an error naming %s and its address', async (_engine, overrides, message) => {
    const broken: PostflowConfig = distributedTestConfig(`${runId}x`, overrides);
    const started = Date.now();
    const error = await createDistributedBackends({ config: broken, logger, keyspace: `postflow_test_${runId}` }).then(
      () => null,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('secret');
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});

it('reports an engine unhealthy with its cause instead of throwing', async () => {
  const other = await createDistributedBackends({ config: distributedTestConfig(runId), logger, keyspace: config.cassandra.keyspace });
  await (other.events as unknown as { close(): Promise<void> }).close();
  const health = await other.checkHealth();
  await other.close();
  expect(health.find((h) => h.componentName === 'RabbitMQ')).toEqual({ componentName: 'RabbitMQ', status: 'unhealthy', cause: expect.any(String) });
  expect(health.find((h) => h.componentName === 'Cassandra')?.status).toBe('healthy');
});
