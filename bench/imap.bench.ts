/**
 * IMAP, Postflow (embedded profile: SQLite + files, in-process events) and Dovecot (apt
 * `dovecot-imapd`, Maildir) side by side in one run, with the same messages and the same load
 * generator (a raw socket client, one command at a time per connection, `--connections` of them).
 * Postflow runs in its own Node process (as Dovecot runs in its own), so the load generator does
 * not share its event loop. Measures APPEND/s, FETCH of headers and of full bodies (commands/s),
 * FETCH of a 1,000-message range (ENVELOPE, and Thunderbird's HEADER.FIELDS), SEARCH latency on the `--messages` mailbox (10,000 by default),
 * LOGIN/s (connect, LOGIN, LOGOUT), with p50/p99 latencies, then Postflow's RSS with `--idle`
 * idle authenticated connections. Both servers check a plain-text password (no hashing).
 * The read operations run in `--rounds` rounds (3 by default) after one unmeasured warm-up round,
 * Postflow and Dovecot taking turns, and the median round of each is reported (every round's ops/s
 * and server CPU per operation are printed too).
 * Usage: npm run bench:imap [-- --messages 10000 --fetches 3000 --logins 500 --connections 4 --idle 10000 --rounds 3]
 * Set IMAP_BENCH_PROF=dir to write a CPU profile of the Postflow process (node --cpu-prof).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { MailboxManager } from '../src/mailbox/api/mailbox-manager';
import { createImapServer } from '../src/protocols/imap';
import type { ImapSearchDeps } from '../src/protocols/imap/search/index-search';
import { startSearchIndexing } from '../src/search/start-search-indexing';
import { createEmbeddedBackends } from '../src/storage/embedded';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const MESSAGES = Number(arg('messages', '10000'));
const FETCHES = Number(arg('fetches', '3000'));
const LOGINS = Number(arg('logins', '500'));
const CONNECTIONS = Number(arg('connections', '4'));
/** Range FETCH and SEARCH commands are slower: fewer of them. */
const RANGE_FETCHES = Number(arg('range-fetches', '30'));
const SEARCHES = Number(arg('searches', '50'));
/** Each read operation runs this many times per server, the servers taking turns. */
const ROUNDS = Number(arg('rounds', '3'));
const IDLE_CONNECTIONS = Number(arg('idle', '10000'));
/** Servers to run (`postflow` alone when profiling). */
const SERVERS = new Set(arg('servers', 'postflow,dovecot').split(','));
/** Phases to measure (APPEND always runs: it fills the mailbox). */
const PHASES = new Set(arg('phases', 'fetch,range,search,login').split(','));
const USER = 'bench@example.com';
const PASSWORD = 'bench-password';
const DOVECOT_PORT = 11_143;
/** Dovecot refuses to access mail as root: its mail files belong to the `dovecot` system user. */
const dovecotIds = (): [number, number] => [Number(execFileSync('id', ['-u', 'dovecot']).toString()), Number(execFileSync('id', ['-g', 'dovecot']).toString())];

function message(i: number): Buffer {
  const body = `Line ${i} of a benchmark message with some text to make it realistic.\r\n`.repeat(50);
  return Buffer.from(`From: Sender ${i} <s${i}@example.org>\r\nTo: ${USER}\r\nSubject: Message ${i}\r\nMessage-ID: <m${i}@example.org>\r\nDate: Mon, 04 Mar 2024 10:00:00 +0000\r\n\r\n${body}`);
}

/** A minimal IMAP client: one command at a time, reads up to its tagged response. */
class Client {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private tag = 0;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
  }

  static async open(port: number): Promise<Client> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new Client(socket);
    await client.until(/^\* OK/m);
    return client;
  }

  private async until(pattern: RegExp): Promise<string> {
    for (;;) {
      const text = this.buffer.toString('latin1');
      const match = pattern.exec(text);
      if (match) {
        const end = text.indexOf('\r\n', match.index);
        this.buffer = this.buffer.subarray(end + 2);
        return text.slice(0, end);
      }
      if (this.closed) throw new Error(`connection closed, waiting for ${pattern}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Sends a command (literals as non-synchronizing `{n+}`) and returns all response text. */
  async command(text: string, literal?: Buffer): Promise<string> {
    const tag = `b${++this.tag}`;
    if (literal) this.socket.write(Buffer.concat([Buffer.from(`${tag} ${text} {${literal.length}+}\r\n`), literal, Buffer.from('\r\n')]));
    else this.socket.write(`${tag} ${text}\r\n`);
    const response = await this.until(new RegExp(`^${tag} (OK|NO|BAD)`, 'm'));
    if (!new RegExp(`^${tag} OK`, 'm').test(response)) throw new Error(`${text.slice(0, 40)}: ${response.slice(-200)}`);
    return response;
  }

  close(): void {
    this.socket.destroy();
  }
}

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU time of the server's processes per operation, µs (contention shows in ops/s, far less in this). */
  serverCpuUs: number;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** utime, stime, cutime, cstime of a process, in seconds; 0 when it is gone. */
function procCpu(pid: number, withChildren: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
    const at = (n: number): number => Number(fields[n - 3]);
    return (at(14) + at(15) + (withChildren ? at(16) + at(17) : 0)) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used by `root` and every process below it: live ones, and the children it has
 * reaped (Dovecot's imap-login and imap processes come and go).
 */
function treeCpu(root: number): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited while listing.
    }
  }
  const below = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 32; p = parents.get(p) ?? 0, hops++) if (p === root) return true;
    return false;
  };
  let total = procCpu(root, true);
  for (const pid of parents.keys()) if (pid !== root && below(pid)) total += procCpu(pid, false);
  return total;
}

function figures(latencies: number[], elapsedMs: number, serverCpuSeconds: number): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { perSecond: (latencies.length / elapsedMs) * 1000, p50: at(0.5), p99: at(0.99), serverCpuUs: (serverCpuSeconds / Math.max(1, latencies.length)) * 1e6 };
}

/** CPU seconds of the server under test so far (set per server by main). */
let serverCpu: () => number = () => 0;

/** Runs `count` operations over CONNECTIONS workers; each op gets its worker's client. */
async function measure<C>(count: number, open: () => Promise<C>, op: (client: C, i: number) => Promise<void>, close: (client: C) => void): Promise<Figures> {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, open));
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const cpuBefore = serverCpu();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        await op(client, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const cpu = serverCpu() - cpuBefore;
  clients.forEach(close);
  return figures(latencies, elapsed, cpu);
}

/** One measured operation of a phase, run against the server listening on `port`. */
type Phase = [name: string, run: (port: number) => Promise<Figures>];

async function loggedIn(port: number): Promise<Client> {
  const client = await Client.open(port);
  await client.command(`LOGIN ${USER} ${PASSWORD}`);
  return client;
}

async function selected(port: number): Promise<Client> {
  const client = await loggedIn(port);
  await client.command('SELECT INBOX');
  return client;
}

/** Fills INBOX with MESSAGES messages (the mailbox every later phase reads). */
function appendPhase(port: number): Promise<Figures> {
  return measure(MESSAGES, () => loggedIn(port), async (c, i) => void (await c.command('APPEND INBOX ()', message(i))), (c) => c.close());
}

/** The read phases, in order; each leaves the mailbox as it found it. */
function readPhases(): Phase[] {
  const phases: Phase[] = [];
  const open = (port: number) => () => selected(port);
  const close = (c: Client): void => c.close();
  if (PHASES.has('fetch')) {
    phases.push(['FETCH headers', (port) => measure(FETCHES, open(port), async (c, i) => void (await c.command(`UID FETCH ${(i % MESSAGES) + 1} (UID FLAGS BODY.PEEK[HEADER])`)), close)]);
    phases.push(['FETCH full', (port) => measure(FETCHES, open(port), async (c, i) => void (await c.command(`UID FETCH ${(i % MESSAGES) + 1} (UID BODY.PEEK[])`)), close)]);
  }
  const span = Math.min(1000, MESSAGES);
  /** A FETCH of `span` consecutive messages per command, `command(from, to)` giving its text. */
  const range = (name: string, command: (from: number, to: number) => string): Phase => [
    `FETCH ${span}-message range (${name})`,
    (port) =>
      measure(
        RANGE_FETCHES,
        open(port),
        async (c, i) => {
          const from = ((i * span) % MESSAGES) + 1;
          await c.command(command(from, Math.min(MESSAGES, from + span - 1)));
        },
        close,
      ),
  ];
  if (PHASES.has('range')) {
    phases.push(range('FLAGS ENVELOPE', (from, to) => `FETCH ${from}:${to} (UID FLAGS ENVELOPE)`));
    // What Thunderbird asks for a folder's new messages (its header list, no ENVELOPE).
    const fields = 'From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To';
    phases.push(range("Thunderbird's HEADER.FIELDS", (from, to) => `UID FETCH ${from}:${to} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (${fields})])`));
  }
  if (PHASES.has('search')) {
    phases.push(['SEARCH SUBJECT', (port) => measure(SEARCHES, open(port), async (c, i) => void (await c.command(`UID SEARCH SUBJECT "Message ${(i * 7919) % MESSAGES}"`)), close)]);
    phases.push(['SEARCH UNSEEN FROM', (port) => measure(SEARCHES, open(port), async (c, i) => void (await c.command(`UID SEARCH UNSEEN FROM "s${(i * 7919) % MESSAGES}@"`)), close)]);
  }
  if (PHASES.has('login')) {
    phases.push([
      'LOGIN',
      (port) =>
        measure(
          LOGINS,
          async () => port,
          async (p) => {
            const client = await Client.open(p);
            await client.command(`LOGIN ${USER} ${PASSWORD}`);
            await client.command('LOGOUT');
            client.close();
          },
          () => undefined,
        ),
    ]);
  }
  return phases;
}

/** The round whose ops/s is the median of the rounds (the lower middle one for an even count). */
function medianRound(rounds: readonly Figures[]): Figures {
  const sorted = [...rounds].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

interface Server {
  port: number;
  /** Resident set size of the server process, bytes (Postflow only). */
  rss?: () => number;
  /** CPU seconds used by the server's processes since they started. */
  cpu: () => number;
  /** Resolves once the server's background work after the appends (search indexing) is done. */
  settle?: () => Promise<void>;
  stop: () => Promise<void>;
}

/** The Postflow IMAP server of the bench, in this (child) process; reports its port to the parent. */
async function servePostflowImap(dir: string): Promise<void> {
  const logger = pino({ level: 'silent' });
  const backends = await createEmbeddedBackends({ dataDir: path.join(dir, 'postflow'), logger });
  await backends.mailboxes.ensureMailbox(USER, 'INBOX');
  // As app.ts wires it: the search index fed by the `search-indexer` group listener answers SEARCH's content keys.
  const search = backends.search;
  // Group listener deliveries under way (the search indexer's): the parent waits for none before reading.
  let pending = 0;
  const events = backends.events;
  const counted: typeof events = Object.create(events);
  counted.registerGroupListener = (listener) =>
    events.registerGroupListener({
      group: listener.group,
      handle: async (event) => {
        pending++;
        try {
          await listener.handle(event);
        } finally {
          pending--;
        }
      },
    });
  if (search) await startSearchIndexing({ index: search, events: counted, mailboxes: backends.mailboxes as MailboxManager, blobs: backends.blobs, tikaUrl: '', logger });
  const deps: ImapSearchDeps = { mailboxes: backends.mailboxes, blobs: backends.blobs, events: backends.events, logger, search, authenticate: async (u, p) => (u === USER && p === PASSWORD ? USER : null) };
  const server = createImapServer(
    deps,
    { host: '127.0.0.1', port: 0, connectionLimits: { perIp: 2 * IDLE_CONNECTIONS + 100, perUser: 2 * IDLE_CONNECTIONS + 100 } },
  );
  const { port } = await server.listen();
  process.on('message', (message) => {
    if (message === 'settle') {
      // Settled: no listener work for 500 ms in a row.
      let quiet = 0;
      const timer = setInterval(() => {
        quiet = pending === 0 ? quiet + 1 : 0;
        if (quiet < 10) return;
        clearInterval(timer);
        process.send?.('settled');
      }, 50);
      return;
    }
    if (message !== 'stop') return;
    void (async () => {
      await server.close();
      await backends.close();
      process.exit(0);
    })();
  });
  process.send?.({ port });
}

async function startPostflowImap(dir: string): Promise<Server> {
  const profile = process.env.IMAP_BENCH_PROF;
  const execArgv = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child = fork(__filename, ['--serve', dir, '--idle', String(IDLE_CONNECTIONS)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`Postflow IMAP process exited with ${code}`)));
  });
  return {
    port,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    cpu: () => treeCpu(child.pid as number),
    settle: async () => {
      const settled = new Promise((resolve) => child.once('message', resolve));
      child.send('settle');
      await settled;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    },
  };
}

/**
 * Opens `count` connections, each logged in and left idle (SELECT INBOX), `parallel` handshakes
 * at a time; returns the server's RSS before and after and the time it took.
 */
async function idleConnections(server: Server, count: number, parallel = 200): Promise<{ before: number; after: number; seconds: number; opened: number }> {
  const rss = server.rss ?? (() => 0);
  const before = rss();
  const clients: Client[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        const client = await Client.open(server.port);
        await client.command(`LOGIN ${USER} ${PASSWORD}`);
        await client.command('SELECT INBOX');
        clients.push(client);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = rss();
  // Every connection is still served: one NOOP on a sample of them.
  await Promise.all(clients.filter((_, i) => i % 100 === 0).map((c) => c.command('NOOP')));
  for (const client of clients) client.close();
  return { before, after, seconds, opened: clients.length };
}

async function startDovecot(dir: string): Promise<Server> {
  const root = path.join(dir, 'dovecot');
  for (const sub of ['run', 'state', 'mail']) mkdirSync(path.join(root, sub), { recursive: true });
  chownSync(path.join(root, 'mail'), ...dovecotIds());
  writeFileSync(path.join(root, 'passwd'), `${USER}:{PLAIN}${PASSWORD}::::::\n`);
  const conf = path.join(root, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      'protocols = imap',
      'listen = 127.0.0.1',
      `base_dir = ${root}/run`,
      `state_dir = ${root}/state`,
      `log_path = ${root}/dovecot.log`,
      'ssl = no',
      // The dovecot system user has a low uid; Dovecot refuses mail access below first_valid_uid.
      `first_valid_uid = ${dovecotIds()[0]}`,
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      `mail_location = maildir:${root}/mail/%u`,
      `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u ${root}/passwd\n}`,
      `userdb {\n  driver = static\n  args = uid=dovecot gid=dovecot home=${root}/mail/%u\n}`,
      `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${DOVECOT_PORT}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/sbin/dovecot', ['-F', '-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      (await Client.open(DOVECOT_PORT)).close();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port: DOVECOT_PORT,
    cpu: () => treeCpu(child.pid as number),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-imap-bench-'));
  chownSync(dir, ...dovecotIds());
  /** Every round of every operation, per server. */
  const rounds = new Map<string, Map<string, Figures[]>>();
  const record = (operation: string, server: string, figures: Figures): void => {
    const byServer = rounds.get(operation) ?? new Map<string, Figures[]>();
    rounds.set(operation, byServer);
    byServer.set(server, [...(byServer.get(server) ?? []), figures]);
  };
  let idle: Awaited<ReturnType<typeof idleConnections>> | null = null;
  const started = performance.now();
  const servers: Array<[string, Server]> = [];
  try {
    for (const [name, start] of [
      ['Postflow', startPostflowImap],
      ['Dovecot', startDovecot],
    ] as const) {
      if (SERVERS.has(name.toLowerCase())) servers.push([name, await start(dir)]);
    }
    const withCpu = async (server: Server, run: () => Promise<Figures>): Promise<Figures> => {
      serverCpu = server.cpu;
      return run();
    };
    for (const [name, server] of servers) {
      console.error(`${name}: APPEND`);
      record('APPEND', name, await withCpu(server, () => appendPhase(server.port)));
    }
    // Indexing follows delivery asynchronously (group listener): it catches up before the reads,
    // as on a real server between a delivery burst and a client's sync.
    const settleStarted = performance.now();
    for (const [, server] of servers) await server.settle?.();
    console.error(`settled after ${((performance.now() - settleStarted) / 1000).toFixed(1)} s`);
    // The servers take turns phase by phase, ROUNDS times: a slower or faster minute of this
    // shared machine then falls on both of them, not on whichever ran all its phases then.
    for (const [operation, run] of readPhases()) {
      // One unmeasured round first on each server: a new code path is compiled by V8 while it runs
      // the first few thousand commands (measured: up to twice the CPU per command of later rounds).
      for (const [name, server] of servers) {
        console.error(`${name}: ${operation}, warm-up`);
        await run(server.port);
      }
      for (let round = 1; round <= ROUNDS; round++) {
        // Odd rounds Postflow first, even rounds Dovecot first: neither always meets a colder client.
        for (const [name, server] of round % 2 === 1 ? servers : [...servers].reverse()) {
          console.error(`${name}: ${operation}, round ${round}`);
          record(operation, name, await withCpu(server, () => run(server.port)));
        }
      }
    }
    const postflow = servers.find(([name]) => name === 'Postflow')?.[1];
    if (postflow && IDLE_CONNECTIONS > 0) {
      console.error(`Postflow: ${IDLE_CONNECTIONS} idle connections`);
      idle = await idleConnections(postflow, IDLE_CONNECTIONS);
    }
  } finally {
    for (const [, server] of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `IMAP bench: ${MESSAGES} messages of ${message(0).length} bytes, ${FETCHES} fetches, ${LOGINS} logins, ${CONNECTIONS} connections, ` +
      `${ROUNDS} alternating rounds per read operation after a warm-up round (median round shown), ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log('| operation | server | ops/s | p50 ms | p99 ms | Postflow / Dovecot | server CPU µs/op | each round: ops/s (CPU µs/op) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [operation, byServer] of rounds) {
    const dovecot = byServer.get('Dovecot');
    for (const [server, all] of byServer) {
      const f = medianRound(all);
      const ratio = server === 'Postflow' && dovecot ? (f.perSecond / medianRound(dovecot).perSecond).toFixed(2) : '';
      console.log(`| ${operation} | ${server} | ${f.perSecond.toFixed(0)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${ratio} | ${f.serverCpuUs.toFixed(0)} | ${all.map((r) => `${r.perSecond.toFixed(0)} (${r.serverCpuUs.toFixed(0)})`).join(', ')} |`);
    }
  }
  if (idle) {
    const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);
    console.log(
      `Postflow RSS: ${mb(idle.before)} MB before, ${mb(idle.after)} MB with ${idle.opened} idle authenticated connections (SELECTed INBOX), ` +
        `${(((idle.after - idle.before) / Math.max(1, idle.opened)) / 1024).toFixed(1)} KB per connection; opened in ${idle.seconds.toFixed(1)} s`,
    );
  }
}

if (process.argv.includes('--serve')) {
  servePostflowImap(arg('serve', '')).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
