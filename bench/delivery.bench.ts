/**
 * End-to-end delivery on the embedded profile: N mails of ~4 KB from C concurrent SMTP clients,
 * from the first connect until all are readable over IMAP. Prints mails/s, p50/p99 latency
 * (SMTP start → delivered), peak RSS of Postflow and of the Temporal dev server, and Temporal
 * history events per mail. Usage: npm run bench:delivery [-- --mails 1000 --clients 10]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startPostflow } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import { mailWorkflowId } from '../src/queue/temporal-mail-queue';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const MAILS = arg('mails', 1000);
const CLIENTS = arg('clients', 10);
const BODY_BYTES = 4 * 1024;

function peakRssMb(pid: number | 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-bench-'));
  const config = loadConfig({
    env: {},
    overrides: { dataDir, logLevel: 'warn', temporal: { devServerPort: 7433, uiPort: 8433 }, smtp: { port: 0 }, imap: { port: 0 }, webadmin: { port: 0 } },
  });
  const app = await startPostflow({ config, logger: pino({ level: 'warn' }) });
  const temporalPid = app.temporalDevServerPid;
  if (temporalPid === undefined) throw new Error('the benchmark needs the Temporal dev server Postflow starts (port 7433 must be free)');
  try {
    const base = `http://127.0.0.1:${app.ports.webadmin}`;
    await fetch(`${base}/domains/bench.test`, { method: 'PUT' });
    await fetch(`${base}/users/user@bench.test`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'pw' }) });

    const body = 'x'.repeat(76) + '\r\n';
    const latencies: number[] = [];
    const mailIds: string[] = [];
    const started = Date.now();
    let next = 0;
    const client = async (): Promise<void> => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.smtp, pool: true, maxConnections: 1, maxMessages: Infinity, ignoreTLS: true });
      try {
        while (next < MAILS) {
          const n = next++;
          const raw = `From: a@remote.example\r\nTo: user@bench.test\r\nSubject: bench ${n}\r\n\r\n${body.repeat(Math.ceil(BODY_BYTES / body.length))}`;
          const t0 = Date.now();
          const info = await transport.sendMail({ envelope: { from: 'a@remote.example', to: ['user@bench.test'] }, raw });
          const mailId = /queued as (\S+)/.exec(info.response)?.[1] as string;
          mailIds.push(mailId);
          await app.client.workflow.getHandle(mailWorkflowId(mailId)).result();
          latencies.push(Date.now() - t0);
        }
      } finally {
        transport.close();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));

    const imap = new ImapFlow({ host: '127.0.0.1', port: app.ports.imap as number, secure: false, auth: { user: 'user@bench.test', pass: 'pw' }, logger: false });
    await imap.connect();
    const box = await imap.mailboxOpen('INBOX');
    await imap.logout();
    const elapsed = (Date.now() - started) / 1000;
    if (box.exists !== MAILS) throw new Error(`expected ${MAILS} messages over IMAP, saw ${box.exists}`);

    const sample = mailIds.slice(0, 20);
    let events = 0;
    for (const id of sample) {
      const history = await app.client.workflow.getHandle(mailWorkflowId(id)).fetchHistory();
      events += history.events?.length ?? 0;
    }
    latencies.sort((a, b) => a - b);
    const figures = {
      mails: MAILS,
      clients: CLIENTS,
      seconds: Number(elapsed.toFixed(1)),
      mailsPerSecond: Number((MAILS / elapsed).toFixed(1)),
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      peakRssPostflowMb: peakRssMb('self'),
      peakRssTemporalMb: peakRssMb(temporalPid),
      historyEventsPerMail: Number((events / sample.length).toFixed(1)),
    };
    console.log(JSON.stringify(figures, null, 2));
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
