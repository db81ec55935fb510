import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { SearchIndex } from '../../src/search/api/search-index';
import { adminPut, startTestNode, type TestNode } from '../helpers/postflow';
import { eventually, mail } from './fixture';

/** James' reindexing routes and tasks on a real embedded node (real Temporal, SQLite FTS5). */
jest.setTimeout(120_000);

const USER = 'reindex@example.com';

describe.each(['embedded', 'distributed'] as const)('reindexing tasks on the %s profile', (profile) => {
let node: TestNode;
let index: SearchIndex;
let inboxId: string;

beforeAll(async () => {
  node = await startTestNode(profile);
  index = node.app.backends.search as SearchIndex;
  expect((await adminPut(node.webadmin, '/domains/example.com')).status).toBe(204);
  expect((await adminPut(node.webadmin, `/users/${USER}`, { password: 'secret-password' })).status).toBe(204);
  const manager = node.app.backends.mailboxes;
  inboxId = (await manager.ensureMailbox(USER, 'INBOX')).id;
  for (const word of ['apricot', 'blueberry', 'cherry']) {
    const blob = await node.app.backends.blobs.put(MAIL_BUCKET, Buffer.from(mail(word, `a ${word} pie`).replace(/\n/g, '\r\n')));
    await manager.appendMessage(inboxId, { blobId: blob.blobId, size: blob.size, internalDate: new Date() });
  }
  await eventually(async () => (await refreshed()).count(inboxId).then((n) => n === 3), 30_000);
}, 120_000);

/** The index with the writes done so far visible (OpenSearch refreshes about every second). */
async function refreshed(): Promise<SearchIndex> {
  await index.refresh();
  return index;
}

afterAll(async () => {
  await node?.stop();
});

async function post(route: string): Promise<Response> {
  return fetch(node.webadmin + route, { method: 'POST' });
}

async function runTask(route: string): Promise<{ taskId: string; type: string; status: string; additionalInformation: Record<string, unknown> }> {
  const response = await post(route);
  expect(response.status).toBe(201);
  const { taskId } = (await response.json()) as { taskId: string };
  expect(response.headers.get('location')).toBe(`/tasks/${taskId}`);
  const done = await fetch(`${node.webadmin}/tasks/${taskId}/await?timeout=60s`);
  expect(done.status).toBe(200);
  return (await done.json()) as { taskId: string; type: string; status: string; additionalInformation: Record<string, unknown> };
}

const words = async (word: string): Promise<number> => (await (await refreshed()).search({ mailboxIds: [inboxId], criterion: { type: 'body', value: word } })).length;

describe('POST /mailboxes?task=reIndex and friends', () => {
  it('rebuilds the whole index as a full-reindexing task with James’ additional information', async () => {
    await index.deleteOwner?.(USER);
    expect(await words('cherry')).toBe(0);
    const task = await runTask('/mailboxes?task=reIndex&messagesPerSecond=1000');
    expect(task).toMatchObject({ type: 'full-reindexing', status: 'completed' });
    expect(task.additionalInformation).toEqual({
      successfullyReprocessedMailCount: 3,
      failedReprocessedMailCount: 0,
      runningOptions: { messagesPerSecond: 1000, mode: 'REBUILD_ALL' },
      messageFailures: {},
      mailboxFailures: [],
    });
    expect(await words('cherry')).toBe(1);
  });

  it('reindexes one user, one mailbox, one message, and the failures of a previous task', async () => {
    await index.deleteMailbox(inboxId);
    const user = await runTask(`/users/${USER}/mailboxes?task=reIndex&mode=fixOutdated&messagesPerSecond=1000`);
    expect(user).toMatchObject({ type: 'user-reindexing', status: 'completed', additionalInformation: { username: USER, successfullyReprocessedMailCount: 3, runningOptions: { mode: 'FIX_OUTDATED' } } });
    expect(await words('apricot')).toBe(1);

    await index.deleteMailbox(inboxId);
    const mailbox = await runTask(`/mailboxes/${inboxId}?task=reIndex&messagesPerSecond=1000`);
    expect(mailbox).toMatchObject({ type: 'mailbox-reindexing', status: 'completed', additionalInformation: { mailboxId: inboxId, successfullyReprocessedMailCount: 3 } });

    await index.delete(inboxId, [2]);
    const message = await runTask(`/mailboxes/${inboxId}/mails/2?task=reIndex`);
    expect(message).toMatchObject({ type: 'message-reindexing', status: 'completed', additionalInformation: { mailboxId: inboxId, uid: 2 } });
    expect(await (await refreshed()).indexedUids(inboxId, [1, 2, 3])).toEqual([1, 2, 3]);

    const recovery = await runTask(`/mailboxes?task=reIndex&reIndexFailedMessagesOf=${mailbox.taskId}&messagesPerSecond=1000`);
    expect(recovery).toMatchObject({ type: 'error-recovery-indexation', status: 'completed', additionalInformation: { successfullyReprocessedMailCount: 0, failedReprocessedMailCount: 0 } });
  });

  it('can be cancelled with DELETE /tasks/{id}', async () => {
    const response = await post('/mailboxes?task=reIndex&messagesPerSecond=1&mode=fixOutdated');
    const { taskId } = (await response.json()) as { taskId: string };
    await eventually(async () => ((await (await fetch(`${node.webadmin}/tasks/${taskId}`)).json()) as { status: string }).status === 'inProgress', 30_000);
    expect((await fetch(`${node.webadmin}/tasks/${taskId}`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => ((await (await fetch(`${node.webadmin}/tasks/${taskId}`)).json()) as { status: string }).status === 'canceled', 30_000);
  });

  it('answers 400 to a missing or unknown task, bad running options or ids, and 404 to unknown users and mailboxes', async () => {
    for (const route of [
      '/mailboxes',
      '/mailboxes?task=reindex',
      '/mailboxes?task=reIndex&messagesPerSecond=0',
      '/mailboxes?task=reIndex&messagesPerSecond=abc',
      '/mailboxes?task=reIndex&mode=fast',
      '/mailboxes?task=reIndex&reIndexFailedMessagesOf=not-a-task',
      '/mailboxes?task=reIndex&reIndexFailedMessagesOf=2b0bdbc6-8f52-4e24-9f4b-8b1c3a4b5c6d',
      '/mailboxes/bad%20id?task=reIndex',
      `/mailboxes/${inboxId}/mails/0?task=reIndex`,
      `/mailboxes/${inboxId}/mails/x?task=reIndex`,
    ]) {
      const response = await post(route);
      expect([route, response.status]).toEqual([route, 400]);
      expect(await response.json()).toMatchObject({ statusCode: 400, type: 'InvalidArgument' });
    }
    expect((await post('/users/nobody@example.com/mailboxes?task=reIndex')).status).toBe(404);
    expect((await post('/mailboxes/00000000-0000-0000-0000-000000000000?task=reIndex')).status).toBe(404);
  });
});
});
