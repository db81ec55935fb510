/**
 * Mail processing throughput with James' default graph on the embedded profile: N mails of ~4 KB,
 * R local recipients each, sent by C SMTP sessions without waiting for delivery (open loop), as
 * smtp-source does. Measured from Temporal visibility: sustained mails/s (first 250 → last
 * workflow closed), p50/p99 latency (workflow start = the 250 → workflow closed = stored in every
 * mailbox), history events per mail; CPU seconds of Postflow and of the Temporal dev server.
 * Runs each execution mode side by side in one run:
 *   batched  — matchers and local mailets in one local activity per batch, LocalDelivery its own activity
 *   local-ld — the default: LocalDelivery in the batch too (idempotent by delivery key)
 *   per-step — one local activity per mailet (the most readable history)
 * Usage: npm run bench:processing [-- --mails 1000 --recipients 10 --clients 10 --modes batched,local-ld]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import nodemailer from 'nodemailer';
import { startPostflow } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import { DEFAULT_GRAPH } from '../src/mailet/graph/default-graph';
import type { ProcessorGraph } from '../src/mailet/graph/model';
import { TemporalDevServer, findTemporalCli } from '../temporal/dev-server';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const MAILS = Number(arg('mails', '1000'));
const RECIPIENTS = Number(arg('recipients', '10'));
const CLIENTS = Number(arg('clients', '10'));
const MODES = arg('modes', 'batched,local-ld').split(',');
const BODY_BYTES = 4 * 1024;
const TEMPORAL_PORT = 7533;
const CLOCK_TICKS = 100;

function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function graphFor(mode: string): ProcessorGraph {
  const graph = structuredClone(DEFAULT_GRAPH);
  const step = graph.processors.find((p) => p.name === 'local-delivery')!.steps.find((s) => s.mailet === 'LocalDelivery')!;
  step.execution = mode === 'batched' ? 'activity' : 'local';
  return graph;
}

interface Result {
  mode: string;
  mailsPerSecond: number;
  p50: number;
  p99: number;
  eventsPerMail: number;
  postflowCpu: number;
  temporalCpu: number;
  seconds: number;
  smtpSeconds: number;
}

async function runMode(mode: string, temporalAddress: string, temporalPid: number): Promise<Result> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `postflow-bench-${mode}-`));
  const taskQueue = `bench-${mode}-${Date.now()}`;
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      logLevel: 'warn',
      smtp: { port: 0, submissionEnabled: false },
      imap: { port: 0 },
      webadmin: { port: 0 },
      temporal: { address: temporalAddress, taskQueue },
      mailetcontainer: { execution: mode === 'per-step' ? 'per-step' : 'batched' },
    },
  });
  const app = await startPostflow({ config, logger: pino({ level: 'warn' }), graph: graphFor(mode) });
  try {
    const base = `http://127.0.0.1:${app.ports.webadmin}`;
    await fetch(`${base}/domains/bench.test`, { method: 'PUT' });
    const users = Array.from({ length: RECIPIENTS }, (_, i) => `user${i}@bench.test`);
    for (const u of users) await fetch(`${base}/users/${u}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'pw' }) });

    const line = 'x'.repeat(76) + '\r\n';
    const body = line.repeat(Math.ceil(BODY_BYTES / line.length));
    const cpu0 = process.cpuUsage();
    const temporalCpu0 = cpuSecondsOf(temporalPid);
    const t0 = Date.now();
    let next = 0;
    const client = async (): Promise<void> => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.smtp, pool: true, maxConnections: 1, maxMessages: Infinity, ignoreTLS: true });
      try {
        while (next < MAILS) {
          const n = next++;
          const raw = `From: a@remote.example\r\nTo: ${users.join(', ')}\r\nSubject: bench ${n}\r\nMessage-ID: <${n}.${taskQueue}@remote.example>\r\n\r\n${body}`;
          await transport.sendMail({ envelope: { from: 'a@remote.example', to: users }, raw });
        }
      } finally {
        transport.close();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const smtpSeconds = (Date.now() - t0) / 1000;

    const query = `TaskQueue = "${taskQueue}" AND WorkflowType = "processMail"`;
    for (;;) {
      const open = (await app.client.workflow.count(`${query} AND ExecutionStatus = "Running"`)).count;
      const total = (await app.client.workflow.count(query)).count;
      if (open === 0 && total >= MAILS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const latencies: number[] = [];
    let events = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for await (const info of app.client.workflow.list({ query })) {
      const start = info.startTime.getTime();
      const close = info.closeTime?.getTime() ?? start;
      latencies.push(close - start);
      events += info.historyLength;
      first = Math.min(first, start);
      last = Math.max(last, close);
    }
    const cpu = process.cpuUsage(cpu0);
    const temporalCpu = cpuSecondsOf(temporalPid) - temporalCpu0;
    latencies.sort((a, b) => a - b);
    const inbox = await app.backends.mailboxes.getMailbox(users[0], 'INBOX');
    if (inbox?.messageCount !== MAILS) throw new Error(`${mode}: expected ${MAILS} messages in ${users[0]}'s INBOX, found ${inbox?.messageCount}`);
    return {
      mode,
      mailsPerSecond: latencies.length / ((last - first) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      eventsPerMail: events / latencies.length,
      postflowCpu: (cpu.user + cpu.system) / 1e6,
      temporalCpu,
      seconds: (last - first) / 1000,
      smtpSeconds,
    };
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-bench-temporal-'));
  const server = new TemporalDevServer({ cliPath: findTemporalCli('', process.env), dataDir: dir, port: TEMPORAL_PORT, uiPort: TEMPORAL_PORT + 1000, logger: pino({ level: 'warn' }) });
  await server.start();
  const pid = server.pid;
  if (pid === undefined) throw new Error(`port ${TEMPORAL_PORT} is taken: the benchmark needs its own Temporal dev server`);
  const results: Result[] = [];
  try {
    for (const mode of MODES) results.push(await runMode(mode, server.address, pid));
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nPostflow processing: ${MAILS} mails × ${RECIPIENTS} recipients, ~4 KB, ${CLIENTS} SMTP sessions, James' default graph, embedded profile`);
  console.log('Temporal dev server: SQLite, one history shard, journal_mode=WAL, synchronous=FULL (temporal/dev-server.ts)\n');
  console.log('mode       mails/s  p50 ms  p99 ms  events/mail  CPU s Postflow  CPU s Temporal  SMTP s  total s');
  for (const r of results) {
    console.log(
      `${r.mode.padEnd(9)} ${r.mailsPerSecond.toFixed(1).padStart(8)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${r.eventsPerMail.toFixed(1).padStart(12)} ${r.postflowCpu.toFixed(1).padStart(15)} ${r.temporalCpu.toFixed(1).padStart(15)} ${r.smtpSeconds.toFixed(1).padStart(7)} ${r.seconds.toFixed(1).padStart(8)}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
