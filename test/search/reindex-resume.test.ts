import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startPostflow, type RunningPostflow } from '../../src/app';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { loadConfig } from '../../src/config/load-config';
import type { SearchIndex } from '../../src/search/api/search-index';
import { TEST_TEMPORAL_ADDRESS, sharedWorkflowBundle } from '../helpers/postflow';
import { eventually, mail } from './fixture';

/** A reindexing task survives the loss of the node running it: another node resumes from the cursor. */
jest.setTimeout(120_000);

const USER = 'resume@example.com';

describe('reindexing after the node running it stops', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-reindex-resume-'));
  const config = loadConfig({
    env: {},
    overrides: {
      profile: 'embedded',
      dataDir,
      logLevel: 'silent',
      smtp: { port: 0, submissionPort: 0, tlsPort: 0 },
      imap: { port: 0, tlsPort: 0 },
      webadmin: { port: 0 },
      temporal: { address: TEST_TEMPORAL_ADDRESS, taskQueue: `test-${randomUUID().slice(0, 8)}` },
    },
  });
  const nodes: RunningPostflow[] = [];

  async function start(): Promise<RunningPostflow> {
    const app = await startPostflow({ config, logger: pino({ level: 'silent' }), workflowBundle: await sharedWorkflowBundle() });
    nodes.push(app);
    return app;
  }

  afterAll(async () => {
    for (const node of nodes) await node.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('resumes on a new node where the first stopped, without indexing a page twice', async () => {
    const first = await start();
    await first.backends.users.upsertUser({ username: USER, passwordHash: 'x' });
    const mailboxIds: string[] = [];
    for (const name of ['INBOX', 'Work', 'Family']) {
      const mailbox = await first.backends.mailboxes.ensureMailbox(USER, name);
      mailboxIds.push(mailbox.id);
      for (const word of ['one', 'two']) {
        const blob = await first.backends.blobs.put(MAIL_BUCKET, Buffer.from(mail(`${name} ${word}`, word).replace(/\n/g, '\r\n')));
        await first.backends.mailboxes.appendMessage(mailbox.id, { blobId: blob.blobId, size: blob.size, internalDate: new Date() });
      }
    }
    // One message per second: after each mailbox's page the workflow sleeps two seconds.
    const response = await fetch(`http://127.0.0.1:${first.ports.webadmin}/mailboxes?task=reIndex&messagesPerSecond=1&mode=fixOutdated`, { method: 'POST' });
    expect(response.status).toBe(201);
    const { taskId } = (await response.json()) as { taskId: string };
    const progress = async (app: RunningPostflow) => (await (await fetch(`http://127.0.0.1:${app.ports.webadmin}/tasks/${taskId}`)).json()) as { status: string; additionalInformation: { successfullyReprocessedMailCount?: number } };
    await eventually(async () => ((await progress(first)).additionalInformation.successfullyReprocessedMailCount ?? 0) >= 2, 30_000);
    await first.stop();
    nodes.splice(nodes.indexOf(first), 1);

    const second = await start();
    const done = await fetch(`http://127.0.0.1:${second.ports.webadmin}/tasks/${taskId}/await?timeout=60s`);
    expect(done.status).toBe(200);
    const task = (await done.json()) as { status: string; type: string; additionalInformation: Record<string, unknown> };
    expect(task).toMatchObject({ status: 'completed', type: 'full-reindexing' });
    expect(task.additionalInformation).toMatchObject({ successfullyReprocessedMailCount: 6, failedReprocessedMailCount: 0, mailboxFailures: [] });
    const index = second.backends.search as SearchIndex;
    for (const id of mailboxIds) expect(await index.count(id)).toBe(2);
  });
});
