import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../helpers/ports';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { adminPut, imapClient, sendMail, TEST_TEMPORAL_ADDRESS, mailWorkflow } from '../helpers/postflow';

/** The built server (`npm run build`); the test command builds it before jest runs. */
const MAIN = path.resolve(__dirname, '../../dist/src/cli/main.js');


interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function runPostflow(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [MAIN, 'start'], { env: { PATH: process.env.PATH ?? '', POSTFLOW_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function waitHealthy(url: string, started: Started, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`Postflow exited early: ${started.output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Postflow not healthy after ${timeoutMs} ms: ${started.output()}`);
}

describe('the postflow process', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let webadmin: string;
  let smtpPort: number;
  let imapPort: number;
  const running: Started[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does)`);
    dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-process-'));
    smtpPort = await freePort();
    imapPort = await freePort();
    const webadminPort = await freePort();
    webadmin = `http://127.0.0.1:${webadminPort}`;
    env = {
      POSTFLOW_DATA_DIR: dataDir,
      POSTFLOW_TEMPORAL_ADDRESS: TEST_TEMPORAL_ADDRESS,
      POSTFLOW_TEMPORAL_TASK_QUEUE: `process-${randomUUID().slice(0, 8)}`,
      POSTFLOW_SMTP_PORT: String(smtpPort),
      POSTFLOW_IMAP_PORT: String(imapPort),
      POSTFLOW_WEBADMIN_PORT: String(webadminPort),
    };
  });

  afterAll(async () => {
    for (const s of running) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers exactly once a mail acknowledged with 250 when the process is SIGKILLed before delivery', async () => {
    // A front-end-only node (no worker) accepts the mail, then dies without a chance to clean up.
    const front = runPostflow({ ...env, POSTFLOW_TEMPORAL_WORKER: 'false' });
    running.push(front);
    await waitHealthy(`${webadmin}/healthcheck`, front);
    expect((await adminPut(webadmin, '/domains/crash.test')).status).toBe(204);
    expect((await adminPut(webadmin, '/users/carol@crash.test', { password: 'pw' })).status).toBe(204);
    const raw = 'From: a@remote.example\r\nTo: carol@crash.test\r\nSubject: survive a crash\r\n\r\nstill here\r\n';
    const { mailId } = await sendMail(smtpPort, { from: 'a@remote.example', to: ['carol@crash.test'] }, raw);
    front.child.kill('SIGKILL');
    expect(await front.exit).toBeNull();

    // Restarted with a worker, the node resumes the mail's workflow.
    const node = runPostflow(env);
    running.push(node);
    await waitHealthy(`${webadmin}/healthcheck`, node);
    const connection = await Connection.connect({ address: TEST_TEMPORAL_ADDRESS });
    try {
      await (await mailWorkflow(new Client({ connection }), mailId)).result();
    } finally {
      await connection.close();
    }
    const client = imapClient(imapPort, 'carol@crash.test', 'pw');
    await client.connect();
    try {
      const mailbox = await client.mailboxOpen('INBOX');
      expect(mailbox.exists).toBe(1);
      const message = await client.fetchOne('1', { source: true });
      expect(message && message.source?.toString()).toBe(`Delivered-To: carol@crash.test\r\n${raw}`);
    } finally {
      await client.logout();
    }

    // Ctrl-C (SIGINT) stops everything cleanly.
    node.child.kill('SIGINT');
    expect(await node.exit).toBe(0);
  }, 120_000);

  it('stops with a message naming Temporal and its address when Temporal is down', async () => {
    const started = runPostflow({ ...env, POSTFLOW_TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('Cannot reach Temporal at 127.0.0.1:1');
  }, 60_000);

  it('stops with a message naming Cassandra and its address when Cassandra is down', async () => {
    const started = runPostflow({ ...env, POSTFLOW_PROFILE: 'distributed', POSTFLOW_CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain('Cannot reach Cassandra at 127.0.0.1:1');
  }, 60_000);

  it('refuses a bad configuration value, naming the key', async () => {
    const started = runPostflow({ ...env, POSTFLOW_SMTP_PORT: 'seventy' });
    expect(await started.exit).toBe(78);
    expect(started.output()).toContain('smtp.port');
  });
});
