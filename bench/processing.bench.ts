/**
 * End-to-end mail processing throughput, side by side in one run (issue 5, "Measure"):
 *   - Postflow, embedded profile, James' default graph, its own Temporal dev server (the settings
 *     `npm start` uses, printed below); one row per variant;
 *   - Postfix -> LMTP -> Dovecot from apt with their default, fsync-safe settings, in a private
 *     temp directory with their own ports (scripts/bench-postfix-dovecot.sh).
 * The same load generator drives both: Postfix's `smtp-source -d -s 10 -m N -l 4096 -r 10`
 * (10 SMTP sessions, 4 KB, 10 recipients: `user`, `2user` … `10user` — smtp-source's numbering).
 * Measured: sustained mails/s (smtp-source start → the last mail visible in all 10 mailboxes),
 * p50/p99 latency from the 250 to visible (Postflow: the mail's receivedAt, set just before its hand-over, → workflow closed, LocalDelivery
 * being its last step; Postfix: the `delay=` of the LMTP delivery in its log, queue file creation →
 * Dovecot's 250), Temporal history events per mail, and CPU seconds of each process group.
 * `--warmup N` first sends N mails of the same shape to other users (`warm`, `2warm` …) and waits for
 * them, unmeasured, so the measured mails start with compiled code (V8's JIT) on every system and
 * with the same empty mailboxes as without warm-up.
 * `--rounds N` repeats the whole comparison N times (odd rounds run the peer first, even rounds
 * Postflow first, each round on a fresh Temporal dev server and fresh data) and prints the ratio of
 * every round and their median: this machine's load drifts by ±15–30 % between runs. Before each
 * system's measured window the bench runs `sync`: the data the system before it wrote (Postflow
 * writes ≈ 350 KB per mail) is on disk before the next one starts, not written back during its run.
 * Usage: npm run bench:processing [-- --mails 1000 --warmup 0 --variants default,no-eager --peer yes --rounds 1]
 * Set PROCESSING_BENCH_PROF=dir to write a CPU profile of Postflow's main JS thread over each
 * variant's measured window (`<dir>/postflow-<variant>[-round<N>].cpuprofile`, open it in Chrome DevTools).
 * Figures depend on machine load: compare rows of one run only (docs/performance.md).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { startPostflow } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import { projectRoot } from '../src/config/project-root';
import { DEFAULT_GRAPH } from '../src/mailet/graph/default-graph';
import type { ProcessorGraph } from '../src/mailet/graph/model';
import { bundleWorkflows } from '../workers/mail-worker';
import { TemporalDevServer, findTemporalCli } from '../temporal/dev-server';

/** Runs a script to its exit; stdout is dropped (the daemons it starts keep their copies of it open). */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args[0]} exited with ${code}`))));
  });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const MAILS = Number(arg('mails', '1000'));
const WARMUP_MAILS = Number(arg('warmup', '0'));
const SESSIONS = Number(arg('sessions', '10'));
const RECIPIENTS = Number(arg('recipients', '10'));
const VARIANTS = arg('variants', 'default').split(',').filter(Boolean);
const PEER = arg('peer', 'yes') === 'yes';
/** Rounds of the whole comparison, one after the other; the figures of each round are side by side. */
const ROUNDS = Number(arg('rounds', '1'));
const MESSAGE_BYTES = 4096;
const DOMAIN = 'bench.test';
const TEMPORAL_PORT = Number(arg('temporal-port', '7533'));
const PEER_SMTP_PORT = Number(arg('peer-port', '2625'));
/** More dev server arguments to try (e.g. `--dynamic-config-value history.shardIOConcurrency=4`), space-separated. */
const TEMPORAL_EXTRA_ARGS = arg('temporal-args', '').split(' ').filter(Boolean);
const CLOCK_TICKS = 100;
const POLL_MS = 100;
/** A run that makes no progress for this long is reported as stuck rather than waited for forever. */
const STALL_MS = 120_000;

/** smtp-source `-r n -t user@d` sends to user@d, 2user@d … nuser@d. */
const USERS = usersNamed('user');
/** Recipients of the warm-up mails: other mailboxes, so the measured ones start empty. */
const WARMUP_USERS = usersNamed('warm');

function usersNamed(base: string): string[] {
  return Array.from({ length: RECIPIENTS }, (_, i) => (i === 0 ? base : `${i + 1}${base}`));
}

/** Postflow variants compared in one run. */
const VARIANT_SETTINGS: Record<string, { eagerStart: boolean; localDeliveryExecution: 'local' | 'activity'; blobInlineMaxBytes?: number; handOff?: 'journal' | 'start' }> = {
  default: { eagerStart: true, localDeliveryExecution: 'local' },
  'no-eager': { eagerStart: false, localDeliveryExecution: 'local' },
  'ld-activity': { eagerStart: true, localDeliveryExecution: 'activity' },
  'blob-files': { eagerStart: true, localDeliveryExecution: 'local', blobInlineMaxBytes: 0 },
  'start-250': { eagerStart: true, localDeliveryExecution: 'local', handOff: 'start' },
};

const threadBreakdown: string[] = [];

/** Where to write CPU profiles of the measured windows (env PROCESSING_BENCH_PROF), if anywhere. */
const PROFILE_DIR = process.env.PROCESSING_BENCH_PROF;

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
}

/** Starts the V8 sampling profiler on this (the main) thread; the returned function writes the profile. */
async function startProfile(name: string): Promise<() => Promise<void>> {
  if (!PROFILE_DIR) return async () => undefined;
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 500 });
  await post(session, 'Profiler.start');
  return async () => {
    const { profile } = await post<{ profile: unknown }>(session, 'Profiler.stop');
    session.disconnect();
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(path.join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  };
}

interface Row {
  /** The round (1…`--rounds`) the row was measured in. */
  round: number;
  name: string;
  mailsPerSecond: number;
  p50: number;
  p99: number;
  eventsPerMail: number | null;
  /** Temporal history bytes per mail (payloads: input, local activity markers, result). */
  historyBytesPerMail: number | null;
  cpu: Array<[string, number]>;
  smtpSeconds: number;
  seconds: number;
}

function statOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds of a process and its descendants: live ones, plus the reaped ones (cutime/cstime). */
function treeCpuSeconds(root: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statOf(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  let ticks = 0;
  const visit = (pid: number): void => {
    const fields = statOf(pid);
    if (!fields) return;
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return ticks / CLOCK_TICKS;
}

/** CPU seconds of this process's threads, by thread name (main JS thread, workflow thread, libuv pool, Rust core, GC), or by thread. */
function threadCpuSeconds(perThread = false): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const raw = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')')).replace(/[\d-]+$/, '').trim() || 'unnamed';
      const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      const key = Number(tid) === process.pid ? 'main' : perThread ? `${name}#${tid}` : name;
      byName.set(key, (byName.get(key) ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return byName;
}

/** Bytes this process wrote (`write_bytes`: to the storage layer, so SQLite's WAL and checkpoints and the blob files). */
function writtenBytes(): number {
  const m = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs smtp-source against host:port; resolves with its wall time, rejects with its stderr. */
function smtpSource(port: number, mails = MAILS, users = USERS): Promise<number> {
  const t0 = Date.now();
  const args = ['-d', '-s', String(SESSIONS), '-m', String(mails), '-l', String(MESSAGE_BYTES), '-r', String(RECIPIENTS), '-f', 'sender@remote.example', '-t', `${users[0]}@${DOMAIN}`, `127.0.0.1:${port}`];
  return new Promise((resolve, reject) => {
    const child = spawn('smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve((Date.now() - t0) / 1000) : reject(new Error(`smtp-source exited with ${code}: ${stderr.trim()}`))));
  });
}

/** Polls until every user sees all mails; returns the time it happened. */
async function waitVisible(name: string, count: () => Promise<number>, target = MAILS * RECIPIENTS): Promise<number> {
  let last = -1;
  let progressAt = Date.now();
  for (;;) {
    const seen = await count();
    if (seen >= target) return Date.now();
    if (seen !== last) {
      last = seen;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > STALL_MS) {
      throw new Error(`${name}: stuck at ${seen}/${target} deliveries for ${STALL_MS / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function graphFor(localDelivery: 'local' | 'activity'): ProcessorGraph {
  const graph = structuredClone(DEFAULT_GRAPH);
  const step = graph.processors.find((p) => p.name === 'local-delivery')!.steps.find((s) => s.mailet === 'LocalDelivery')!;
  step.execution = localDelivery;
  return graph;
}

async function runPostflow(variant: string, server: TemporalDevServer, temporalPid: number, workflowBundle: Awaited<ReturnType<typeof bundleWorkflows>>, round: number): Promise<Row> {
  const settings = VARIANT_SETTINGS[variant];
  if (!settings) throw new Error(`unknown variant ${variant}; known: ${Object.keys(VARIANT_SETTINGS).join(', ')}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), `postflow-bench-${variant}-`));
  const taskQueue = `bench-${variant}-${Date.now()}`;
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      logLevel: 'warn',
      smtp: { port: 0, submissionEnabled: false, ...(settings.handOff ? { handOff: settings.handOff } : {}) },
      imap: { port: 0 },
      webadmin: { port: 0 },
      temporal: { address: server.address, taskQueue, eagerStart: settings.eagerStart },
      ...(settings.blobInlineMaxBytes === undefined ? {} : { blobStore: { inlineMaxBytes: settings.blobInlineMaxBytes } }),
    },
  });
  const app = await startPostflow({ config, logger: pino({ level: 'warn' }), graph: graphFor(settings.localDeliveryExecution), workflowBundle });
  try {
    const base = `http://127.0.0.1:${app.ports.webadmin}`;
    const put = async (url: string, body?: unknown): Promise<void> => {
      const res = await fetch(url, body === undefined ? { method: 'PUT' } : { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`PUT ${url}: ${res.status} ${await res.text()}`);
    };
    await put(`${base}/domains/${DOMAIN}`);
    for (const u of [...USERS, ...WARMUP_USERS]) await put(`${base}/users/${u}@${DOMAIN}`, { password: 'pw' });
    const inboxesOf = (users: string[]): Promise<string[]> =>
      Promise.all(users.map(async (u) => {
        await app.backends.mailboxes.ensureMailbox(`${u}@${DOMAIN}`, 'INBOX');
        return `${u}@${DOMAIN}`;
      }));
    const delivered = async (owners: string[]): Promise<number> => {
      let total = 0;
      for (const owner of owners) total += (await app.backends.mailboxes.getMailbox(owner, 'INBOX'))?.messageCount ?? 0;
      return total;
    };
    const inboxes = await inboxesOf(USERS);
    if (WARMUP_MAILS > 0) {
      const warm = await inboxesOf(WARMUP_USERS);
      await smtpSource(app.ports.smtp!, WARMUP_MAILS, WARMUP_USERS);
      await waitVisible(`postflow ${variant} warm-up`, () => delivered(warm), WARMUP_MAILS * RECIPIENTS);
    }
    settleWrites();
    const measuredFrom = new Date();

    const stopProfile = await startProfile(ROUNDS > 1 ? `postflow-${variant}-round${round}` : `postflow-${variant}`);
    const cpu0 = process.cpuUsage();
    const threads0 = threadCpuSeconds();
    const threads1 = threadCpuSeconds(true);
    const temporalCpu0 = treeCpuSeconds(temporalPid);
    const written0 = writtenBytes();
    const eager0 = app.mailProcessing.queue.eagerlyStarted;
    const loop0 = performance.eventLoopUtilization();
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const t0 = Date.now();
    const smtpSeconds = await smtpSource(app.ports.smtp!);
    const visibleAt = await waitVisible(`postflow ${variant}`, () => delivered(inboxes));
    loopDelay.disable();
    const loop = performance.eventLoopUtilization(loop0);
    const cpu = process.cpuUsage(cpu0);
    const temporalCpu = treeCpuSeconds(temporalPid) - temporalCpu0;
    const writtenKbPerMail = (writtenBytes() - written0) / 1024 / MAILS;
    const threads = [...threadCpuSeconds()].map(([k, v]) => [k, v - (threads0.get(k) ?? 0)] as [string, number]).filter(([, v]) => v >= 0.1);
    await stopProfile();
    threadBreakdown.push(`${ROUNDS > 1 ? `round ${round}, ` : ''}postflow ${variant}: ${threads.sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    const single = [...threadCpuSeconds(true)].map(([k, v]) => [k, v - (threads1.get(k) ?? 0)] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, 8);
    threadBreakdown.push(`  written by Postflow: ${writtenKbPerMail.toFixed(1)} KB/mail (SQLite WAL, checkpoints, blob files)`);
    threadBreakdown.push(
      `  main event loop: busy ${(loop.utilization * 100).toFixed(0)} % of the time, delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} / p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms`,
    );
    threadBreakdown.push(`  started eagerly: ${app.mailProcessing.queue.eagerlyStarted - eager0} of ${MAILS} mails (the others' first workflow task went through matching)`);
    threadBreakdown.push(`  busiest threads: ${single.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);

    // The measured mails only (the warm-up's started before).
    const query = `TaskQueue = "${taskQueue}" AND WorkflowType = "processMail" AND StartTime >= "${measuredFrom.toISOString()}"`;
    // Every measured workflow closed and listed: the visibility store records a workflow up to a
    // second after it closes (the dev server's visibility setting), so "none running" is not enough.
    const listedBy = Date.now() + STALL_MS;
    while ((await app.client.workflow.count(`${query} AND ExecutionStatus = "Completed"`)).count < MAILS) {
      if (Date.now() > listedBy) throw new Error(`postflow ${variant}: fewer than ${MAILS} measured workflows listed as completed after ${STALL_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const latencies: number[] = [];
    let events = 0;
    let historyBytes = 0;
    const closed: Array<{ workflowId: string; closeTime: number }> = [];
    for await (const info of app.client.workflow.list({ query })) {
      closed.push({ workflowId: info.workflowId, closeTime: info.closeTime?.getTime() ?? Number.NaN });
      events += info.historyLength;
      historyBytes += info.historySize ?? Number.NaN;
    }
    // From the 250: the mail's receivedAt (set just before the hand-over that precedes the 250; with
    // the journal hand-off the workflow starts after it), read from each workflow's input.
    for (let i = 0; i < closed.length; i += 50) {
      await Promise.all(
        closed.slice(i, i + 50).map(async ({ workflowId, closeTime }) => {
          const history = await app.client.workflow.getHandle(workflowId).fetchHistory();
          const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
          const receivedAt = input ? Date.parse((JSON.parse(Buffer.from(input).toString('utf8')) as { receivedAt: string }).receivedAt) : Number.NaN;
          latencies.push(closeTime - receivedAt);
        }),
      );
    }
    if (latencies.length !== MAILS) throw new Error(`postflow ${variant}: ${latencies.length} processMail workflows for ${MAILS} mails`);
    latencies.sort((a, b) => a - b);
    return {
      round,
      name: `postflow ${variant}`,
      mailsPerSecond: MAILS / ((visibleAt - t0) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      eventsPerMail: events / latencies.length,
      historyBytesPerMail: historyBytes / latencies.length,
      cpu: [
        ['postflow', (cpu.user + cpu.system) / 1e6],
        ['temporal', temporalCpu],
      ],
      smtpSeconds,
      seconds: (visibleAt - t0) / 1000,
    };
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Counts the deliveries Postfix logs as sent over LMTP from now on (one line per recipient, written
 * after Dovecot's 250, when the message is in the Maildir), reading only what the log gained since
 * the last call. Listing the 10 Maildirs every poll instead cost the bench up to 11 % of a core
 * while the pair delivered (`readdir` of up to 1,000 entries each, 10 times a second).
 */
function lmtpSentCounter(maillog: string): () => number {
  let offset = statSync(maillog, { throwIfNoEntry: false })?.size ?? 0;
  let partial = '';
  let sent = 0;
  return () => {
    const fd = openSync(maillog, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > offset) {
        const appended = Buffer.alloc(size - offset);
        const read = readSync(fd, appended, 0, appended.length, offset);
        offset += read;
        const lines = (partial + appended.subarray(0, read).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (LMTP_SENT.test(line)) sent++;
      }
    } finally {
      closeSync(fd);
    }
    return sent;
  };
}

/** A recipient Postfix delivered over LMTP: its queue id and its delay (s). */
const LMTP_SENT = /postfix\/lmtp\[\d+\]: ([0-9A-F]+): to=<[^>]*>.* delay=([\d.]+),.* status=sent/;

/** Postfix's LMTP delivery delays (ms) by queue id: one LMTP transaction per mail carries its 10 recipients. */
function lmtpDelays(maillog: string): Map<string, number> {
  const delays = new Map<string, number>();
  for (const line of readFileSync(maillog, 'utf8').split('\n')) {
    const m = LMTP_SENT.exec(line);
    if (m) delays.set(m[1], Math.max(delays.get(m[1]) ?? 0, Number(m[2]) * 1000));
  }
  return delays;
}

async function runPostfixDovecot(): Promise<Omit<Row, 'round'>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-bench-postfix-'));
  const script = path.join(projectRoot(), 'scripts', 'bench-postfix-dovecot.sh');
  await run(script, ['start', dir, String(PEER_SMTP_PORT), String(PEER_SMTP_PORT + 1), DOMAIN, ...USERS, ...WARMUP_USERS]);
  try {
    const postfixPid = Number(readFileSync(path.join(dir, 'spool', 'pid', 'master.pid'), 'utf8').trim());
    const dovecotPid = Number(readFileSync(path.join(dir, 'run', 'master.pid'), 'utf8').trim());
    const maildirsOf = (users: string[]): string[] => users.map((u) => path.join(dir, 'mail', DOMAIN, u, 'Maildir', 'new'));
    const maildirs = maildirsOf(USERS);
    const count = (d: string): number => {
      try {
        return readdirSync(d).length;
      } catch {
        return 0;
      }
    };
    let warmQueueIds = new Set<string>();
    if (WARMUP_MAILS > 0) {
      const warm = maildirsOf(WARMUP_USERS);
      await smtpSource(PEER_SMTP_PORT, WARMUP_MAILS, WARMUP_USERS);
      await waitVisible('postfix+dovecot warm-up', async () => warm.reduce((sum, d) => sum + count(d), 0), WARMUP_MAILS * RECIPIENTS);
      warmQueueIds = new Set(lmtpDelays(path.join(dir, 'maillog')).keys());
    }
    settleWrites();
    const sentOverLmtp = lmtpSentCounter(path.join(dir, 'maillog'));
    const postfixCpu0 = treeCpuSeconds(postfixPid);
    const dovecotCpu0 = treeCpuSeconds(dovecotPid);
    const t0 = Date.now();
    const smtpSeconds = await smtpSource(PEER_SMTP_PORT);
    const visibleAt = await waitVisible('postfix+dovecot', async () => sentOverLmtp());
    const inMaildirs = maildirs.reduce((sum, d) => sum + count(d), 0);
    if (inMaildirs !== MAILS * RECIPIENTS) throw new Error(`postfix+dovecot: the log counts ${MAILS * RECIPIENTS} deliveries, the Maildirs hold ${inMaildirs} messages`);
    const postfixCpu = treeCpuSeconds(postfixPid) - postfixCpu0;
    const dovecotCpu = treeCpuSeconds(dovecotPid) - dovecotCpu0;
    const latencies = [...lmtpDelays(path.join(dir, 'maillog'))].filter(([id]) => !warmQueueIds.has(id)).map(([, delay]) => delay).sort((a, b) => a - b);
    return {
      name: 'postfix+dovecot',
      mailsPerSecond: MAILS / ((visibleAt - t0) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      eventsPerMail: null,
      historyBytesPerMail: null,
      cpu: [
        ['postfix', postfixCpu],
        ['dovecot', dovecotCpu],
      ],
      smtpSeconds,
      seconds: (visibleAt - t0) / 1000,
    };
  } finally {
    await run(script, ['stop', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes back every dirty page (`sync`), so no earlier run's data is flushed during the next measured window. */
function settleWrites(): void {
  execFileSync('sync');
}

/** Load average (1, 5, 15 min) as /proc/loadavg gives it. */
function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Postflow's variants, each on the same fresh Temporal dev server, stopped afterwards (it would compete with the peer's run). */
async function runPostflowVariants(round: number): Promise<{ rows: Row[]; settings: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-bench-temporal-'));
  const server = new TemporalDevServer({ cliPath: findTemporalCli('', process.env), dataDir: dir, port: TEMPORAL_PORT, uiPort: TEMPORAL_PORT + 1000, logger: pino({ level: 'warn' }), extraArgs: TEMPORAL_EXTRA_ARGS });
  try {
    await server.start();
    const pid = server.pid;
    if (pid === undefined) throw new Error(`port ${TEMPORAL_PORT} is taken: the benchmark needs its own Temporal dev server`);
    const bundle = await bundleWorkflows();
    const rows: Row[] = [];
    for (const variant of VARIANTS) rows.push(await runPostflow(variant, server, pid, bundle, round));
    return { rows, settings: server.describeSettings() };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds must be a positive integer, got ${arg('rounds', '1')}`);
  const rows: Row[] = [];
  const loads: string[] = [];
  let settings = '';
  for (let round = 1; round <= ROUNDS; round++) {
    loads.push(loadAverage());
    // Odd rounds run the peer first, even rounds Postflow first: the machine's load drifts, and
    // neither system should always get the quieter half of a round.
    const peerFirst = round % 2 === 1;
    if (PEER && peerFirst) rows.push({ ...(await runPostfixDovecot()), round });
    if (VARIANTS.length > 0) {
      const postflow = await runPostflowVariants(round);
      rows.push(...postflow.rows);
      settings = postflow.settings;
    }
    if (PEER && !peerFirst) rows.push({ ...(await runPostfixDovecot()), round });
  }
  console.log(`\nEnd-to-end: ${MAILS} mails × ${RECIPIENTS} recipients, ${MESSAGE_BYTES} B, ${SESSIONS} SMTP sessions (smtp-source), ${WARMUP_MAILS > 0 ? `after ${WARMUP_MAILS} warm-up mails to other users` : 'no warm-up'}, ${ROUNDS} round(s) (odd rounds run Postfix + Dovecot first, even rounds Postflow first), load average before each round: ${loads.join(' | ')}`);
  if (settings) console.log(`Temporal dev server (a fresh one per round): ${settings}`);
  console.log('variants: default = 250 once journaled (smtp.handOff journal), eager workflow start, LocalDelivery in the local batch, blobs up to 64 KiB in SQLite; no-eager; ld-activity = LocalDelivery its own activity; blob-files = every blob a file (blobStore.inlineMaxBytes 0); start-250 = 250 once the workflow started (smtp.handOff start)\n');
  console.log('round  system                  mails/s  p50 ms  p99 ms  events/mail  history B/mail  SMTP s  total s  CPU s');
  for (const r of rows) {
    console.log(
      `${String(r.round).padStart(5)}  ${r.name.padEnd(22)} ${r.mailsPerSecond.toFixed(1).padStart(8)} ${r.p50.toFixed(0).padStart(7)} ${r.p99.toFixed(0).padStart(7)} ${(r.eventsPerMail?.toFixed(1) ?? '-').padStart(12)} ${(r.historyBytesPerMail?.toFixed(0) ?? '-').padStart(15)} ${r.smtpSeconds.toFixed(1).padStart(7)} ${r.seconds.toFixed(1).padStart(8)}  ${r.cpu.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`,
    );
  }
  console.log(`\nPostflow CPU s by thread:\n  ${threadBreakdown.join('\n  ')}`);
  const ratios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const peer = rows.find((r) => r.round === round && r.name === 'postfix+dovecot');
    const ours = rows.find((r) => r.round === round && r.name === 'postflow default');
    if (peer && ours) ratios.push(ours.mailsPerSecond / peer.mailsPerSecond);
  }
  if (ratios.length > 0) {
    console.log(`\npostflow default / postfix+dovecot, by round: ${ratios.map((x) => `${x.toFixed(2)}x`).join(', ')}`);
    if (ratios.length > 1) console.log(`median of ${ratios.length} rounds: ${median(ratios).toFixed(2)}x`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
