import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startPostflow, type RunningPostflow } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import type { PostflowConfig } from '../../src/config/schema';
import { bundleWorkflows } from '../../workers/mail-worker';

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
export async function startTestNode(profile: 'embedded' | 'distributed', overrides: Record<string, unknown> = {}): Promise<TestNode> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-test-'));
  const runId = randomUUID().slice(0, 8);
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
      },
      overrides,
    ),
  });
  const keyspace = profile === 'distributed' ? `postflow_e2e_${runId}` : undefined;
  const app = await startPostflow({ config, logger: pino({ level: config.logLevel }), workflowBundle: await sharedWorkflowBundle(), keyspace });
  return {
    app,
    config,
    webadmin: `http://127.0.0.1:${app.ports.webadmin}`,
    async stop() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
