import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../../src/config/load-config';
import { SEARCH_ATTRIBUTE_CACHE_KEY, TemporalCliNotFoundError, VISIBILITY_BATCH_SIZE_KEY, VISIBILITY_POLL_RPS_KEY, TemporalDevServer, findTemporalCli, goRuntimeDefaults } from '../../temporal/dev-server';
import { QUEUE_ATTRIBUTE, RECIPIENTS_ATTRIBUTE, SENDER_ATTRIBUTE, SPOOL_QUEUE, STATE_ATTRIBUTE } from '../../workflows/lib/search-attributes';
import { freePort } from '../helpers/ports';

jest.setTimeout(120_000);

const logger = pino({ level: 'silent' });

describe('Temporal dev server settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-devserver-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps fsync-safe durability and turns the search attribute cache back on', () => {
    const server = new TemporalDevServer({ cliPath: 'temporal', dataDir: dir, port: 7999, uiPort: 8999, logger });
    const args = server.arguments();
    const values = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
    expect(values('--sqlite-pragma')).toEqual(['journal_mode=WAL', 'synchronous=FULL']);
    expect(values('--dynamic-config-value')).toContain(`${SEARCH_ATTRIBUTE_CACHE_KEY}=false`);
    expect(values('--dynamic-config-value')).toEqual(expect.arrayContaining([`${VISIBILITY_POLL_RPS_KEY}=1`, `${VISIBILITY_BATCH_SIZE_KEY}=1000`]));
    expect(values('--search-attribute')).toEqual(expect.arrayContaining(['PostflowQueue=Keyword', 'PostflowRecipients=KeywordList']));
    // The UI stays: operators open each mail's workflow there.
    expect(args).not.toContain('--headless');
    expect(server.describeSettings()).toContain('synchronous=FULL');
  });

  it('lets benchmark arguments come last so they override a default', () => {
    const server = new TemporalDevServer({ cliPath: 'temporal', dataDir: dir, port: 7999, uiPort: 8999, logger, extraArgs: ['--dynamic-config-value', `${SEARCH_ATTRIBUTE_CACHE_KEY}=true`] });
    const args = server.arguments();
    expect(args.slice(-2)).toEqual(['--dynamic-config-value', `${SEARCH_ATTRIBUTE_CACHE_KEY}=true`]);
  });

  it('gives the server half the cores (at least one) and GOGC 400 unless configured or set in the environment', () => {
    expect(goRuntimeDefaults(1)).toEqual({ maxProcs: 1, gc: 400 });
    expect(goRuntimeDefaults(2)).toEqual({ maxProcs: 1, gc: 400 });
    expect(goRuntimeDefaults(3)).toEqual({ maxProcs: 1, gc: 400 });
    expect(goRuntimeDefaults(8)).toEqual({ maxProcs: 4, gc: 400 });
    const defaults = goRuntimeDefaults(availableParallelism());
    const server = new TemporalDevServer({ cliPath: 'temporal', dataDir: dir, port: 7999, uiPort: 8999, logger });
    const env = server.environment({ PATH: '/bin' });
    expect(env).toMatchObject({ PATH: '/bin', GOMAXPROCS: String(defaults.maxProcs), GOGC: '400' });
    // 0 means "the default", as in the configuration.
    const configured = new TemporalDevServer({ cliPath: 'temporal', dataDir: dir, port: 7999, uiPort: 8999, logger, goRuntime: { maxProcs: 3, gc: 0 } });
    expect(configured.environment({})).toMatchObject({ GOMAXPROCS: '3', GOGC: '400' });
    // An operator's own GOMAXPROCS/GOGC win over the configuration.
    expect(configured.environment({ GOMAXPROCS: '2', GOGC: 'off' })).toMatchObject({ GOMAXPROCS: '2', GOGC: 'off' });
    expect(configured.describeSettings()).toMatch(/GOMAXPROCS=\d+ GOGC=\S+/);
  });

  it('rejects out-of-range Go runtime settings in the configuration', () => {
    expect(loadConfig({ env: { POSTFLOW_TEMPORAL_DEV_SERVER_MAX_PROCS: '2', POSTFLOW_TEMPORAL_DEV_SERVER_GO_GC: '200' } }).temporal).toMatchObject({ devServerMaxProcs: 2, devServerGoGc: 200 });
    expect(loadConfig({}).temporal).toMatchObject({ devServerMaxProcs: 0, devServerGoGc: 400 });
    expect(() => loadConfig({ env: { POSTFLOW_TEMPORAL_DEV_SERVER_MAX_PROCS: '-1' } })).toThrow(/devServerMaxProcs/);
    expect(() => loadConfig({ env: { POSTFLOW_TEMPORAL_DEV_SERVER_GO_GC: '5' } })).toThrow(/devServerGoGc/);
    expect(() => loadConfig({ env: { POSTFLOW_TEMPORAL_DEV_SERVER_GO_GC: 'lots' } })).toThrow(/devServerGoGc/);
  });

  it('refuses a configured CLI path that is not an executable file', () => {
    const notExecutable = path.join(dir, 'temporal');
    writeFileSync(notExecutable, '#!/bin/sh\n');
    chmodSync(notExecutable, 0o644);
    expect(() => findTemporalCli(notExecutable, { PATH: '' })).toThrow(TemporalCliNotFoundError);
    expect(() => findTemporalCli(path.join(dir, 'missing'), { PATH: '' })).toThrow(/is not an executable file/);
  });

  it('reports a server that exits at start (malformed dynamic config value) instead of waiting for it', async () => {
    const cli = findTemporalCli('', process.env);
    const server = new TemporalDevServer({ cliPath: cli, dataDir: dir, port: await freePort(), uiPort: await freePort(), logger, extraArgs: ['--dynamic-config-value', 'history.shardIOConcurrency={not json'] });
    await expect(server.start()).rejects.toThrow(/exited/);
    expect(readFileSync(path.join(dir, 'temporal', 'temporal.log'), 'utf8')).toMatch(/dynamic config/i);
  });

  it('accepts and lists a mail started with the queue search attributes right after start (cache on)', async () => {
    const cli = findTemporalCli('', process.env);
    const server = new TemporalDevServer({ cliPath: cli, dataDir: dir, port: await freePort(), uiPort: await freePort(), logger });
    await server.start();
    const connection = await Connection.connect({ address: server.address });
    try {
      // The server process runs with the Go runtime settings (read back from the kernel).
      const environ = readFileSync(`/proc/${server.pid}/environ`, 'utf8').split('\0');
      const expected = server.environment(process.env);
      expect(environ).toEqual(expect.arrayContaining([`GOMAXPROCS=${expected.GOMAXPROCS}`, `GOGC=${expected.GOGC}`]));
      const client = new Client({ connection, namespace: 'default' });
      const taskQueue = `devserver-test-${Date.now()}`;
      // No worker polls this queue: the workflow stays open, as a queued mail does.
      const started = Date.now();
      await client.workflow.start('processMail', {
        workflowId: `mail-devserver-${started}`,
        taskQueue,
        args: [{}],
        typedSearchAttributes: [
          { key: QUEUE_ATTRIBUTE, value: SPOOL_QUEUE },
          { key: STATE_ATTRIBUTE, value: 'processing' },
          { key: SENDER_ATTRIBUTE, value: 'a@example.com' },
          { key: RECIPIENTS_ATTRIBUTE, value: ['b@example.com', 'c@example.com'] },
        ],
      });
      const query = `TaskQueue = "${taskQueue}" AND PostflowQueue = "${SPOOL_QUEUE}" AND PostflowRecipients = "c@example.com"`;
      let count = 0;
      for (let i = 0; i < 50 && count === 0; i++) {
        count = (await client.workflow.count(query)).count;
        if (count === 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(count).toBe(1);
      // With the visibility queue read once a second, a closed workflow is listed as closed within a few seconds.
      await client.workflow.getHandle(`mail-devserver-${started}`).terminate('test: close it');
      const closedAt = Date.now();
      let closed = 0;
      while (closed === 0 && Date.now() - closedAt < 10_000) {
        closed = (await client.workflow.count(`${query} AND ExecutionStatus = "Terminated"`)).count;
        if (closed === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(closed).toBe(1);
      expect(Date.now() - closedAt).toBeLessThan(3_000);
      // An attribute the namespace does not know is still refused with the cache on.
      const refused = await client.workflow
        .start('processMail', { workflowId: `mail-devserver-bad-${Date.now()}`, taskQueue, args: [{}], searchAttributes: { PostflowUnknown: ['x'] } })
        .then(() => null, (err: Error) => err);
      expect(refused).not.toBeNull();
      expect(`${refused?.message} ${(refused?.cause as Error | undefined)?.message}`).toMatch(/PostflowUnknown/);
    } finally {
      await connection.close();
      await server.stop();
    }
  });
});
