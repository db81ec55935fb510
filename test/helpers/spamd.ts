import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';

const SPAMD = '/usr/sbin/spamd';

/** A spamd (SpamAssassin, Debian packages `spamassassin spamd`) of one test file. */
export interface TestSpamd {
  port: number;
  /** Its site configuration and Bayes database. */
  dir: string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => socket.destroy() && resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`spamd did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts the real spamd on a free port with its own site configuration (the system's `.pre` plugin
 * files, Bayes on, auto-learning off) and Bayes database in a temporary folder; network tests off.
 */
export async function startSpamd(): Promise<TestSpamd> {
  if (!existsSync(SPAMD)) throw new Error('spamd is not installed: apt-get install spamassassin spamd (scripts/test.sh and .ci/run do)');
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-spamd-')).replace(/\/$/, '');
  chmodSync(dir, 0o777); // spamd drops to `nobody`, who writes the Bayes database here
  for (const file of readdirSync('/etc/spamassassin').filter((f) => f.endsWith('.pre'))) copyFileSync(path.join('/etc/spamassassin', file), path.join(dir, file));
  writeFileSync(path.join(dir, 'local.cf'), `bayes_path ${dir}/bayes\nuse_bayes 1\nbayes_auto_learn 0\nlock_method flock\n`);
  const port = await freePort();
  const spamd: ChildProcess = spawn(SPAMD, ['-l', '-i', '127.0.0.1', '-p', String(port), '-x', `--siteconfigpath=${dir}`, '-u', 'nobody', '-m', '2', '-s', 'stderr'], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (spamd.pid && spamd.exitCode === null) {
      const exited = new Promise((resolve) => spamd.once('exit', resolve));
      spamd.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, dir, stop };
}
