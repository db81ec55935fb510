import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { SEARCH_ATTRIBUTE_CACHE_KEY, TemporalCliNotFoundError, TemporalDevServer, findTemporalCli } from '../../temporal/dev-server';
import { QUEUE_ATTRIBUTE, RECIPIENTS_ATTRIBUTE, SENDER_ATTRIBUTE, SPOOL_QUEUE, STATE_ATTRIBUTE } from '../../workflows/lib/search-attributes';

jest.setTimeout(120_000);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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
      const client = new Client({ connection, namespace: 'default' });
      const taskQueue = `devserver-test-${Date.now()}`;
      // No worker polls this queue: the workflow stays open, as a queued mail does.
      await client.workflow.start('processMail', {
        workflowId: `mail-devserver-${Date.now()}`,
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
