import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { startPostflow, type RunningPostflow } from '../../src/app';
import { MAIL_BUCKET } from '../../src/blob/api';
import { loadConfig } from '../../src/config/load-config';
import { DEFAULT_GRAPH } from '../../src/mailet/graph/default-graph';
import type { ProcessorGraph } from '../../src/mailet/graph/model';
import { DnsProblem, type MxResolver } from '../../src/remote-delivery/smtp-sender';
import { sharedWorkflowBundle, TEST_TEMPORAL_ADDRESS } from '../helpers/postflow';

/** James' default graph, with loopback clients allowed to relay (as an authorized network). */
export function relayingGraph(): ProcessorGraph {
  const graph = structuredClone(DEFAULT_GRAPH);
  const transport = graph.processors.find((p) => p.name === 'transport')!;
  transport.matchers = [{ name: 'relay-allowed', operator: 'Or', matchers: ['SMTPAuthSuccessful', 'SMTPIsAuthNetwork=127.0.0.0/8', 'SentByMailet'] }];
  return graph;
}

export interface SinkMessage {
  from: string;
  to: string[];
  data: string;
  secure: boolean;
}

/**
 * A real SMTP server on loopback playing a remote MX: per-recipient answers decided by `answer`
 * (return a reply code and text, or null for 250), STARTTLS offered (smtp-server's own certificate).
 */
export class SmtpSink {
  readonly received: SinkMessage[] = [];
  readonly attempts = new Map<string, number>();
  answer: (recipient: string, attempt: number) => { code: number; message: string } | null = () => null;
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      logger: false,
      onRcptTo: (address, _session, callback) => {
        const n = (this.attempts.get(address.address) ?? 0) + 1;
        this.attempts.set(address.address, n);
        const reply = this.answer(address.address, n);
        if (reply) return callback(Object.assign(new Error(reply.message), { responseCode: reply.code }));
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString('utf8'),
            secure: session.secure,
          });
          callback();
        });
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = ((this.server as unknown as { server: Server }).server.address() as { port: number }).port;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP server that accepts connections and never says a word (a hung MX). */
export async function silentServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** MX lookup over a fixed table of domains → loopback ports; any other domain does not resolve. */
export function tableResolver(table: Record<string, number>): MxResolver {
  return async (domain) => {
    const port = table[domain];
    if (port === undefined) throw new DnsProblem(`No MX for ${domain}: ENOTFOUND`);
    return [{ host: '127.0.0.1', port }];
  };
}

export interface RemoteTestNode {
  app: RunningPostflow;
  webadmin: string;
  stop(): Promise<void>;
  inbox(user: string): Promise<string[]>;
}

/** A Postflow node with its own task queue and data folder, RemoteDelivery pointed at loopback sinks. */
export async function startRemoteTestNode(options: { resolver: MxResolver; delays: string; maxRetries: number; graph?: ProcessorGraph; greetingTimeoutMs?: number }): Promise<RemoteTestNode> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-remote-'));
  const config = loadConfig({
    env: {},
    overrides: {
      profile: 'embedded',
      dataDir,
      logLevel: process.env.POSTFLOW_TEST_LOG_LEVEL ?? 'silent',
      hostname: 'mx.postflow.test',
      smtp: { port: 0, submissionEnabled: false },
      imap: { port: 0 },
      webadmin: { port: 0 },
      temporal: { address: TEST_TEMPORAL_ADDRESS, taskQueue: `remote-${randomUUID().slice(0, 8)}` },
      remoteDelivery: { delays: options.delays, maxRetries: options.maxRetries, greetingTimeoutMs: options.greetingTimeoutMs ?? 2_000, socketTimeoutMs: 5_000, connectTimeoutMs: 2_000 },
    },
  });
  const app = await startPostflow({
    config,
    logger: pino({ level: config.logLevel }),
    workflowBundle: await sharedWorkflowBundle(),
    graph: options.graph ?? relayingGraph(),
    mxResolver: options.resolver,
  });
  return {
    app,
    webadmin: `http://127.0.0.1:${app.ports.webadmin}`,
    async stop() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async inbox(user: string) {
      const inbox = await app.backends.mailboxes.getMailbox(user, 'INBOX');
      const out: string[] = [];
      if (!inbox) return out;
      for await (const m of app.backends.mailboxes.listMessages(inbox.id, { from: 1, to: Number.MAX_SAFE_INTEGER })) {
        out.push((await app.backends.blobs.readBytes(MAIL_BUCKET, m.blobId)).toString('utf8'));
      }
      return out;
    },
  };
}

export async function eventually<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
