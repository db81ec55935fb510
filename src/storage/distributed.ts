import type { Logger } from 'pino';
import { withOptionalEncryption } from '../blob/encryption/encrypting-blob-store';
import { S3BlobStore } from '../blob/s3/s3-blob-store';
import type { PostflowConfig } from '../config/schema';
import { errorMessage } from '../core/errors';
import { RabbitMqEventBus, redactUri } from '../events/rabbitmq/rabbitmq-event-bus';
import { StoreMailboxManager } from '../mailbox/store-mailbox-manager';
import { OpenSearchSearchIndex } from '../search/opensearch/opensearch-search-index';
import type { Backends, HealthCheck } from './backends';
import { CassandraBlobReferences } from './cassandra/cassandra-blob-references';
import { CassandraDelegationStore } from './cassandra/cassandra-delegation-store';
import { CassandraDomainList } from './cassandra/cassandra-domain-list';
import { CassandraEventDeadLetters } from './cassandra/cassandra-event-dead-letters';
import { CassandraLoginFailureStore } from './cassandra/cassandra-login-failure-store';
import { CassandraVacationStore } from './cassandra/cassandra-vacation-store';
import { CassandraMailRepositoryStore } from './cassandra/cassandra-mail-repository-store';
import { CassandraMailboxStore } from './cassandra/cassandra-mailbox-store';
import { CassandraQuotaStore } from './cassandra/cassandra-quota-store';
import { CassandraEventStore } from './cassandra/cassandra-event-store';
import { CassandraSession } from './cassandra/cassandra-session';
import { CassandraRecipientRewriteTableStore } from './cassandra/cassandra-rrt-store';
import { CassandraUsersRepository } from './cassandra/cassandra-users-repository';

/**
 * Bound of each engine's reachability check at start-up. The three run in parallel, so an
 * unreachable engine fails start-up within about this time. (Creating the Cassandra schema of a
 * new keyspace comes after and is not bounded by it.)
 */
export const ENGINE_STARTUP_TIMEOUT_MS = 12_000;
/** Bound of one health probe, so `/healthcheck` answers even when an engine hangs. */
export const HEALTH_PROBE_TIMEOUT_MS = 5_000;

/**
 * Distributed profile: metadata in Cassandra, blobs in S3, mailbox events over RabbitMQ.
 * Rejects with `Cannot reach <engine> at <address>: <cause>` when an engine does not answer.
 */
export async function createDistributedBackends(options: { config: PostflowConfig; logger: Logger; keyspace?: string }): Promise<Backends> {
  const { config, logger } = options;
  // The Cassandra session connects in parallel with the broker; group listeners register once both are up.
  const ready: { deadLetters?: CassandraEventDeadLetters } = {};
  const [cassandra, blobs, events] = await Promise.allSettled([
    CassandraSession.connect(config.cassandra, {
      keyspace: options.keyspace,
      logger: logger.child({ component: 'cassandra' }),
      connectTimeoutMs: ENGINE_STARTUP_TIMEOUT_MS,
    }),
    connectS3(config),
    withTimeout(
      RabbitMqEventBus.connect(config.rabbitmq, logger.child({ component: 'events' }), {
        retry: config.events,
        deadLetters: () => {
          if (!ready.deadLetters) throw new Error('dead letters are not ready');
          return ready.deadLetters;
        },
      }),
      `Cannot reach RabbitMQ at ${redactUri(config.rabbitmq.uri)}`,
      (bus) => bus.close(),
    ),
  ]);
  if (cassandra.status === 'rejected' || blobs.status === 'rejected' || events.status === 'rejected') {
    if (cassandra.status === 'fulfilled') await cassandra.value.close().catch(() => undefined);
    if (blobs.status === 'fulfilled') blobs.value.close();
    if (events.status === 'fulfilled') await events.value.close();
    const failures = [cassandra, blobs, events].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw new Error(failures.map((f) => errorMessage(f.reason)).join('; '));
  }
  const session = cassandra.value;
  const bus = events.value;
  const s3 = blobs.value;
  const mailBlobs = withOptionalEncryption(s3, config.blobStore.encryption);
  const deadLetters = (ready.deadLetters = new CassandraEventDeadLetters(session));
  // Lazy: the node starts while OpenSearch is down; indexing events retry, then dead-letter.
  const search = OpenSearchSearchIndex.lazy(config.opensearch);

  return {
    profile: 'distributed',
    blobs: mailBlobs,
    blobReferences: new CassandraBlobReferences(session),
    events: bus,
    deadLetters,
    loginFailures: new CassandraLoginFailureStore(session),
    vacation: new CassandraVacationStore(session),
    mailboxes: new StoreMailboxManager(new CassandraMailboxStore(session), bus, mailBlobs),
    users: new CassandraUsersRepository(session),
    domains: new CassandraDomainList(session),
    rrt: new CassandraRecipientRewriteTableStore(session),
    delegations: new CassandraDelegationStore(session),
    mailRepositories: new CassandraMailRepositoryStore(session),
    quotas: new CassandraQuotaStore(session),
    eventStore: new CassandraEventStore(session),
    annotations: new CassandraMailboxStore(session),
    search,
    async checkHealth(): Promise<HealthCheck[]> {
      return Promise.all([
        probe('Cassandra', () => session.releaseVersion()),
        probe('S3', () => s3.ping(AbortSignal.timeout(HEALTH_PROBE_TIMEOUT_MS))),
        probe('RabbitMQ', () => bus.checkHealth()),
        probe('OpenSearch', async () => {
          const health = await search.checkHealth();
          if (health.status !== 'healthy') throw new Error(health.cause ?? 'unhealthy');
        }),
      ]);
    },
    async close(): Promise<void> {
      await Promise.allSettled([bus.close(), session.close(), search.close()]);
      s3.close();
    },
  };
}

async function connectS3(config: PostflowConfig): Promise<S3BlobStore> {
  const store = S3BlobStore.fromConfig(config.s3);
  try {
    await store.ping(AbortSignal.timeout(ENGINE_STARTUP_TIMEOUT_MS));
  } catch (err) {
    store.close();
    throw new Error(`Cannot reach S3 at ${config.s3.endpoint}: ${describeS3Error(err)}`);
  }
  return store;
}

/**
 * Rejects with `<message>: no answer within …` when `promise` takes longer than the start-up bound; a
 * resource that arrives after that is released with `release`.
 */
function withTimeout<T>(promise: Promise<T>, message: string, release: (value: T) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`${message}: no answer within ${ENGINE_STARTUP_TIMEOUT_MS / 1000} s`));
    }, ENGINE_STARTUP_TIMEOUT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (settled) void Promise.resolve(release(value)).catch(() => undefined);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!settled) reject(err);
      },
    );
  });
}

async function probe(componentName: string, check: () => Promise<unknown>): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_PROBE_TIMEOUT_MS / 1000} s`)), HEALTH_PROBE_TIMEOUT_MS);
      }),
    ]);
    return { componentName, status: 'healthy', cause: null };
  } catch (err) {
    return { componentName, status: 'unhealthy', cause: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** The SDK wraps network errors ("AWS SDK error wrapper for Error: connect ECONNREFUSED …"). */
function describeS3Error(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; errors?: unknown[] };
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.map((inner) => describeS3Error(inner)).join('; ');
  return (e.message || e.code || e.name || String(err)).replace(/^AWS SDK error wrapper for (Error: )?/, '');
}
