import { randomUUID } from 'node:crypto';
import { MAIL_BUCKET } from '../../src/blob/api';
import { ADDRESS_ERROR_REPOSITORY, RELAY_DENIED_REPOSITORY } from '../../src/mailrepository/api/mail-repository-store';
import { mailKey } from '../../src/core/mail';
import { testMailReference } from '../helpers/mail-reference';
import { adminPut, sendMail, startTestNode, type TestNode, mailWorkflow } from '../helpers/postflow';
import { eventually } from '../mailet/remote-node';

const REPO = encodeURIComponent(RELAY_DENIED_REPOSITORY);
const raw = (subject: string, to: string) => `From: bob@remote.example\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nfor the repository\r\n`;

interface Task {
  taskId: string;
  type: string;
  status: string;
  additionalInformation: Record<string, unknown>;
  submitDate: string;
  startedDate: string | null;
  completedDate: string | null;
}

describe('mail repositories and the task manager through WebAdmin', () => {
  let node: TestNode;
  const keys: string[] = [];

  beforeAll(async () => {
    node = await startTestNode('embedded');
    for (const to of ['carol@later.test', 'dave@later.test', 'erin@later.test']) {
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'bob@remote.example', to: [to] }, raw(`for ${to}`, to));
      await (await mailWorkflow(node.app.client, mailId)).result();
      keys.push(`${mailId}/${mailId}`);
    }
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  const get = async <T>(route: string, accept?: string): Promise<{ status: number; body: T; type: string | null }> => {
    const response = await fetch(node.webadmin + route, accept ? { headers: { accept } } : {});
    const type = response.headers.get('content-type');
    return { status: response.status, type, body: (type?.includes('json') ? await response.json() : await response.text()) as T };
  };

  it('lists, counts and pages through a repository', async () => {
    expect((await get<Array<{ repository: string }>>('/mailRepositories')).body).toEqual(expect.arrayContaining([{ repository: RELAY_DENIED_REPOSITORY, path: REPO }]));
    expect((await get(`/mailRepositories/${REPO}`)).body).toEqual({ repository: RELAY_DENIED_REPOSITORY, path: REPO, size: 3 });
    const all = (await get<string[]>(`/mailRepositories/${REPO}/mails`)).body;
    expect([...all].sort()).toEqual([...keys].sort());
    const first = (await get<string[]>(`/mailRepositories/${REPO}/mails?offset=0&limit=2`)).body;
    const rest = (await get<string[]>(`/mailRepositories/${REPO}/mails?offset=2&limit=2`)).body;
    expect([...first, ...rest]).toEqual(all);
    expect((await get(`/mailRepositories/${REPO}/mails?limit=-1`)).status).toBe(400);
    expect((await get(`/mailRepositories/${encodeURIComponent('var/mail/nothing/')}`)).status).toBe(404);
  });

  it('shows one mail as JSON and downloads it as .eml', async () => {
    const key = encodeURIComponent(keys[0]);
    const details = await get<{ recipients: string[]; state: string; error: string }>(`/mailRepositories/${REPO}/mails/${key}`);
    expect(details.body).toMatchObject({ recipients: ['carol@later.test'], state: 'relay-denied', error: expect.stringContaining('You must be authenticated') });
    const eml = await get<string>(`/mailRepositories/${REPO}/mails/${key}`, 'message/rfc822');
    expect(eml.type).toContain('message/rfc822');
    expect(eml.body).toBe(raw('for carol@later.test', 'carol@later.test'));
  });

  it('reprocesses one mail to a chosen processor as a task, then all the others', async () => {
    expect((await adminPut(node.webadmin, '/domains/later.test')).status).toBe(204);
    for (const user of ['carol', 'dave', 'erin']) expect((await adminPut(node.webadmin, `/users/${user}@later.test`, { password: 'pw' })).status).toBe(204);

    const one = await fetch(`${node.webadmin}/mailRepositories/${REPO}/mails/${encodeURIComponent(keys[0])}?action=reprocess&processor=transport`, { method: 'PATCH' });
    expect(one.status).toBe(201);
    const { taskId } = (await one.json()) as { taskId: string };
    const done = (await get<Task>(`/tasks/${taskId}/await?timeout=30s`)).body;
    expect(done).toMatchObject({ taskId, type: 'reprocessing-one', status: 'completed', additionalInformation: { repositoryPath: RELAY_DENIED_REPOSITORY, targetProcessor: 'transport', mailKey: keys[0] } });
    expect(done.completedDate).not.toBeNull();
    await eventually(async () => (await node.app.backends.mailboxes.getMailbox('carol@later.test', 'INBOX'))?.messageCount === 1, 20_000, 'carol\'s mail');

    const all = await fetch(`${node.webadmin}/mailRepositories/${REPO}/mails?action=reprocess&processor=transport`, { method: 'PATCH' });
    expect(all.status).toBe(201);
    const allTask = (await get<Task>(`/tasks/${((await all.json()) as { taskId: string }).taskId}/await?timeout=30s`)).body;
    expect(allTask).toMatchObject({ type: 'reprocessing-all', status: 'completed', additionalInformation: { initialCount: 2, remainingCount: 0, targetProcessor: 'transport' } });
    for (const user of ['dave', 'erin']) {
      await eventually(async () => (await node.app.backends.mailboxes.getMailbox(`${user}@later.test`, 'INBOX'))?.messageCount === 1, 20_000, `${user}'s mail`);
    }
    expect((await get(`/mailRepositories/${REPO}`)).body).toMatchObject({ size: 0 });

    const listed = (await get<Task[]>('/tasks?status=completed')).body.map((t) => t.taskId);
    expect(listed).toEqual(expect.arrayContaining([taskId, allTask.taskId]));
    expect((await get('/tasks?status=bogus')).status).toBe(400);
    expect((await get('/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  }, 60_000);

  it('sends a mailet\'s mail again on each reprocessing (a bounce per run, as James does)', async () => {
    expect((await adminPut(node.webadmin, '/domains/later.test')).status).toBe(204);
    expect((await adminPut(node.webadmin, '/users/frank@later.test', { password: 'pw' })).status).toBe(204);
    const message = raw('to nobody', 'nobody@later.test');
    const stored = await node.app.backends.blobs.put(MAIL_BUCKET, Buffer.from(message));
    const mail = testMailReference({ mailId: randomUUID(), sender: 'frank@later.test', recipients: ['nobody@later.test'], messageBlobId: stored.blobId, size: stored.size, state: 'local-address-error' });
    await node.app.backends.mailRepositories.store(ADDRESS_ERROR_REPOSITORY, mailKey(mail), mail);
    const path = encodeURIComponent(ADDRESS_ERROR_REPOSITORY);
    // local-address-error bounces to the sender, then stores the mail back in the repository.
    for (const run of [1, 2]) {
      const patch = await fetch(`${node.webadmin}/mailRepositories/${path}/mails?action=reprocess&processor=local-address-error`, { method: 'PATCH' });
      expect(patch.status).toBe(201);
      const task = (await get<Task>(`/tasks/${((await patch.json()) as { taskId: string }).taskId}/await?timeout=30s`)).body;
      expect(task).toMatchObject({ status: 'completed', additionalInformation: { initialCount: 1 } });
      await eventually(async () => (await node.app.backends.mailboxes.getMailbox('frank@later.test', 'INBOX'))?.messageCount === run, 20_000, `bounce ${run}`);
      await eventually(async () => (await get<string[]>(`/mailRepositories/${path}/mails`)).body.length === 1, 20_000, 'the mail back in its repository');
    }
  }, 60_000);

  it('refuses to reprocess to an unknown processor', async () => {
    const response = await fetch(`${node.webadmin}/mailRepositories/${REPO}/mails?action=reprocess&processor=nowhere`, { method: 'PATCH' });
    expect(response.status).toBe(400);
  });

  it('deletes one mail and clears a repository through a task', async () => {
    for (const to of ['x@elsewhere.test', 'y@elsewhere.test']) {
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'bob@remote.example', to: [to] }, raw('again', to));
      await (await mailWorkflow(node.app.client, mailId)).result();
    }
    const [first] = (await get<string[]>(`/mailRepositories/${REPO}/mails`)).body;
    expect((await fetch(`${node.webadmin}/mailRepositories/${REPO}/mails/${encodeURIComponent(first)}`, { method: 'DELETE' })).status).toBe(204);
    expect((await get(`/mailRepositories/${REPO}`)).body).toMatchObject({ size: 1 });
    const clear = await fetch(`${node.webadmin}/mailRepositories/${REPO}/mails`, { method: 'DELETE' });
    expect(clear.status).toBe(201);
    const task = (await get<Task>(`/tasks/${((await clear.json()) as { taskId: string }).taskId}/await?timeout=30s`)).body;
    expect(task).toMatchObject({ type: 'clear-mail-repository', status: 'completed', additionalInformation: { initialCount: 1, remainingCount: 0 } });
  });

  it('cancels a waiting task with DELETE /tasks/{id}', async () => {
    // A task nobody runs (a task queue without worker) stays waiting until cancelled.
    const handle = await node.app.client.workflow.start('clearMailRepository', { workflowId: 'task-11111111-2222-4333-8444-555555555555', taskQueue: `no-worker-${Date.now()}`, args: [{ repositoryPath: 'var/mail/error/' }], memo: { taskType: 'clear-mail-repository' } });
    expect((await get<Task>('/tasks/11111111-2222-4333-8444-555555555555')).body.status).toBe('waiting');
    expect((await fetch(`${node.webadmin}/tasks/11111111-2222-4333-8444-555555555555`, { method: 'DELETE' })).status).toBe(204);
    const canceled = (await get<Task>('/tasks/11111111-2222-4333-8444-555555555555')).body;
    expect(canceled).toMatchObject({ status: 'canceled', type: 'clear-mail-repository' });
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  });
});
