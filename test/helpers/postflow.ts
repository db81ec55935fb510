import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { startPostflow, type RunningPostflow } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import type { PostflowConfig } from '../../src/config/schema';
import { bundleWorkflows } from '../../workers/mail-worker';
import { mailWorkflowId } from '../../src/queue/temporal-mail-queue';
import type { TraceEntry } from '../../src/mailet/graph/walker';
import { traceQuery, type ProcessMailResult } from '../../workflows/process-mail';
import { Client as CassandraClient } from 'cassandra-driver';
import { RabbitMqAdmin } from '../events/rabbitmq-admin';
import { OpenSearchSearchIndex } from '../../src/search/opensearch/opensearch-search-index';

/** Temporal frontend the tests use: the one `scripts/engines.sh up` starts. */
export const TEST_TEMPORAL_ADDRESS = process.env.POSTFLOW_TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;
export function sharedWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflows();
  return bundle;
}

export interface TestNode {
  app: RunningPostflow;
  config: PostflowConfig;
  webadmin: string;
  stop(): Promise<void>;
}

/** Starts a Postflow node on ephemeral ports with its own data folder, task queue and keyspace. */
export async function startTestNode(
  profile: 'embedded' | 'distributed',
  overrides: Record<string, unknown> = {},
  /** Nodes of one cluster share a keyspace (and pass one `rabbitmq.prefix` and `temporal.taskQueue` in `overrides`). */
  options: { keyspace?: string } = {},
): Promise<TestNode> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-test-'));
  const runId = randomUUID().slice(0, 8);
  // Distributed nodes get their own exchange prefix (deleted on stop) unless the test gives one.
  const ownPrefix = profile === 'distributed' && !(overrides.rabbitmq as { prefix?: string } | undefined)?.prefix ? `postflow-e2e-${runId}` : undefined;
  const config = loadConfig({
    env: {},
    overrides: deepMerge(
      {
        profile,
        dataDir,
        logLevel: process.env.POSTFLOW_TEST_LOG_LEVEL ?? 'silent',
        smtp: { port: 0, submissionPort: 0, tlsPort: 0 },
        imap: { port: 0, tlsPort: 0 },
        webadmin: { port: 0 },
        temporal: { address: TEST_TEMPORAL_ADDRESS, taskQueue: `test-${runId}` },
        ...(ownPrefix ? { rabbitmq: { prefix: ownPrefix } } : {}),
        // Nodes of one cluster (one keyspace) share one search index; it goes with the keyspace.
        ...(profile === 'distributed' ? { opensearch: { indexPrefix: searchIndexPrefix(options.keyspace ?? `postflow_e2e_${runId}`) } } : {}),
      },
      overrides,
    ),
  });
  const keyspace = profile === 'distributed' ? (options.keyspace ?? `postflow_e2e_${runId}`) : undefined;
  const cleanUp = async () => {
    // Best effort: a slow engine during clean-up must not fail the suite that ran fine.
    if (ownPrefix) await new RabbitMqAdmin(config).deleteByPrefix(ownPrefix).catch((err: Error) => console.warn(`RabbitMQ clean-up of ${ownPrefix} failed: ${err.message}`));
    // A keyspace this helper named goes with the node (a shared one is the test's to drop).
    if (keyspace && !options.keyspace) await dropKeyspace(config, keyspace).catch((err: Error) => console.warn(`DROP KEYSPACE ${keyspace} failed: ${err.message}`));
  };
  let app: RunningPostflow;
  try {
    app = await startPostflow({ config, logger: pino({ level: config.logLevel }), workflowBundle: await sharedWorkflowBundle(), keyspace });
  } catch (err) {
    // A node that failed to start may have declared its exchanges already.
    rmSync(dataDir, { recursive: true, force: true });
    await cleanUp();
    throw err;
  }
  return {
    app,
    config,
    webadmin: `http://127.0.0.1:${app.ports.webadmin}`,
    async stop() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await cleanUp();
      if (keyspace && !options.keyspace) await dropSearchIndex(config, keyspace).catch((err: Error) => console.warn(`Search index clean-up of ${keyspace} failed: ${err.message}`));
    },
  };
}

/** OpenSearch index prefix of the test cluster of a keyspace: its nodes share one index. */
export function searchIndexPrefix(keyspace: string): string {
  return `${keyspace}-`.replace(/_/g, '-');
}

/** Drops the OpenSearch index of the test cluster of a keyspace (its nodes are stopped; a test sharing a keyspace calls it with dropKeyspace). */
export async function dropSearchIndex(config: PostflowConfig, keyspace: string): Promise<void> {
  const index = OpenSearchSearchIndex.lazy({ ...config.opensearch, indexPrefix: searchIndexPrefix(keyspace) });
  try {
    await index.dropIndex();
  } finally {
    await index.close();
  }
}

/** Drops a test keyspace (the node that used it is stopped). */
export async function dropKeyspace(config: PostflowConfig, keyspace: string): Promise<void> {
  if (!/^postflow_[a-z0-9_]+$/.test(keyspace)) throw new Error(`Refusing to drop the keyspace ${keyspace}`);
  // DDL on a busy single node can take far longer than a query: a generous read timeout.
  const client = new CassandraClient({ contactPoints: [...config.cassandra.contactPoints], localDataCenter: config.cassandra.localDataCenter, socketOptions: { readTimeout: 45_000 } });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown();
  }
}

export async function sendMail(port: number, envelope: { from: string; to: string[] }, raw: string | Buffer): Promise<{ mailId: string; response: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ envelope, raw });
    const mailId = /queued as ([0-9a-f-]{36})/.exec(info.response)?.[1];
    if (!mailId) throw new Error(`No mail id in the SMTP reply: ${info.response}`);
    return { mailId, response: info.response };
  } finally {
    transport.close();
  }
}

/**
 * Waits for a mail's processMail workflow to close and returns its result and its whole path, as
 * the `trace` query answers it on the closed workflow (the worker replays the history).
 */
export async function mailPath(node: TestNode, mailId: string): Promise<{ result: ProcessMailResult; trace: TraceEntry[] }> {
  const handle = await mailWorkflow(node.app.client, mailId);
  const result = (await handle.result()) as ProcessMailResult;
  return { result, trace: await handle.query(traceQuery) };
}

/**
 * A mail's processMail workflow, once it exists: a mail accepted through the journal hand-off
 * (`smtp.handOff: journal`) has its workflow started just after its 250, not before.
 */
export async function mailWorkflow(client: Client, mailId: string, timeoutMs = 30_000): Promise<WorkflowHandle> {
  const handle = client.workflow.getHandle(mailWorkflowId(mailId));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await handle.describe();
      return handle;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function imapClient(port: number, user: string, pass: string): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass }, logger: false, disableAutoIdle: true });
}

export async function adminPut(base: string, route: string, body?: unknown): Promise<Response> {
  return fetch(base + route, {
    method: 'PUT',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A node of `profile` (no extra SMTP listeners) with `domain` and `users`, all with `password`, created over WebAdmin. */
export async function startNodeWithUsers(profile: 'embedded' | 'distributed', domain: string, users: readonly string[], password: string): Promise<TestNode> {
  const node = await startTestNode(profile, { smtp: { submissionPort: 0, tlsPort: 0 } });
  const refused = async (route: string, body?: unknown): Promise<boolean> => (await adminPut(node.webadmin, route, body)).status !== 204;
  if (await refused(`/domains/${domain}`)) throw new Error(`domain ${domain} not created`);
  for (const user of users) if (await refused(`/users/${user}`, { password })) throw new Error(`user ${user} not created`);
  return node;
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
