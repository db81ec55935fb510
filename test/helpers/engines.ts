import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { DeleteBucketCommand, DeleteObjectsCommand, ListBucketsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/load-config';
import type { PostflowConfig } from '../../src/config/schema';

export type Engine = 'cassandra' | 's3' | 'rabbitmq';

/** A TCP port that does not accept a connection within this time counts as down. */
const PROBE_TIMEOUT_MS = 3_000;

/** A short random id naming this run's keyspace, buckets and exchanges, so runs never collide. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Configuration of the distributed profile for tests: the schema's defaults (the engines of
 * `scripts/engines.sh`), optionally redirected by `POSTFLOW_CASSANDRA_*`, `POSTFLOW_S3_*` and
 * `POSTFLOW_RABBITMQ_*` variables, with a keyspace, bucket prefix and exchange prefix of this run.
 */
export function distributedTestConfig(runId: string = newRunId(), overrides: Record<string, unknown> = {}): PostflowConfig {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => /^POSTFLOW_(CASSANDRA|S3|RABBITMQ)_/.test(key)));
  return loadConfig({
    env,
    overrides: merge(
      {
        profile: 'distributed',
        logLevel: 'silent',
        cassandra: { keyspace: `postflow_test_${runId}` },
        s3: { bucketPrefix: `pft-${runId}-` },
        rabbitmq: { prefix: `postflow-test-${runId}` },
      },
      overrides,
    ),
  });
}

function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    const bothObjects = [current, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    out[key] = bothObjects ? merge(current as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return out;
}

/** `host:port` an engine of the configuration listens on. */
export function engineAddress(config: PostflowConfig, engine: Engine): { host: string; port: number; label: string } {
  switch (engine) {
    case 'cassandra': {
      const [host, port] = config.cassandra.contactPoints[0].split(':');
      return { host, port: Number(port ?? 9042), label: 'Cassandra' };
    }
    case 's3': {
      const url = new URL(config.s3.endpoint);
      return { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), label: 'S3' };
    }
    case 'rabbitmq': {
      const url = new URL(config.rabbitmq.uri);
      return { host: url.hostname, port: Number(url.port || (url.protocol === 'amqps:' ? 5671 : 5672)), label: 'RabbitMQ' };
    }
  }
}

/**
 * Fails fast, with the command that fixes it, when an engine does not accept connections
 * (rather than every test timing out one by one).
 */
export async function requireEngines(config: PostflowConfig, ...engines: Engine[]): Promise<void> {
  const down: string[] = [];
  await Promise.all(
    engines.map(async (engine) => {
      const { host, port, label } = engineAddress(config, engine);
      const cause = await probeTcp(host, port);
      if (cause) down.push(`${label} at ${host}:${port}: ${cause}`);
    }),
  );
  if (down.length > 0) {
    throw new Error(`engines not running: run bash scripts/engines.sh up ${engines.join(' ')} (${down.join('; ')})`);
  }
}

function probeTcp(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (cause: string | null) => {
      socket.destroy();
      resolve(cause);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.message));
  });
}

/** Deletes every bucket whose name starts with `prefix`, objects first (S3 refuses to delete a non-empty bucket). */
export async function deleteBuckets(client: S3Client, prefix: string): Promise<void> {
  const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
  for (const { Name } of Buckets) {
    if (!Name?.startsWith(prefix)) continue;
    for (;;) {
      const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: Name }));
      if (Contents.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: Name, Delete: { Objects: Contents.map(({ Key }) => ({ Key })) } }));
    }
    await client.send(new DeleteBucketCommand({ Bucket: Name }));
  }
}
