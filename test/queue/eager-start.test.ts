import { Client, Connection } from '@temporalio/client';
import type { MailReference } from '../../src/core/mail';
import { testMailReference } from '../helpers/mail-reference';
import { PermanentError, TemporaryError } from '../../src/core/errors';
import { eventually } from '../helpers/eventually';
import { TemporalMailQueue, mailWorkflowId } from '../../src/queue/temporal-mail-queue';
import { loadConfig } from '../../src/config/load-config';
import { adminPut, sendMail, startTestNode, TEST_TEMPORAL_ADDRESS, type TestNode, mailWorkflow } from '../helpers/postflow';

const DOMAIN = 'eager.test';
const USERS = ['ann', 'bob', 'cid'].map((u) => `${u}@${DOMAIN}`);

async function inboxCount(node: TestNode, user: string): Promise<number> {
  return (await node.app.backends.mailboxes.getMailbox(user, 'INBOX'))?.messageCount ?? 0;
}

function mailFor(mailId: string, blobId: string): MailReference {
  return testMailReference({ mailId, sender: `sender@${DOMAIN}`, recipients: [USERS[0]], messageBlobId: blobId });
}

describe('eager workflow start of received mails (temporal.eagerStart)', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode('embedded');
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    for (const user of USERS) expect((await adminPut(node.webadmin, `/users/${user}`, { password: 'pw' })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  it('hands mails received over SMTP to the in-process worker with their start, and delivers each once', async () => {
    const before = node.app.mailProcessing.queue.eagerlyStarted;
    const sent = await Promise.all(
      Array.from({ length: 5 }, (_, i) => sendMail(node.app.ports.smtp as number, { from: `sender@${DOMAIN}`, to: USERS }, `Subject: eager ${i}\r\n\r\nbody ${i}\r\n`)),
    );
    expect(new Set(sent.map((s) => s.mailId)).size).toBe(5);
    for (const user of USERS) await eventually(async () => (await inboxCount(node, user)) === 5, `5 mails in ${user}'s INBOX`);
    // The server may fall back to a normal start when the worker has no free slot; here it has plenty.
    expect(node.app.mailProcessing.queue.eagerlyStarted - before).toBe(5);
    // LocalDelivery writes the mailboxes inside the workflow's last step: the close follows shortly.
    for (const { mailId } of sent) {
      const handle = await mailWorkflow(node.app.client, mailId);
      await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', `workflow of ${mailId} to complete`);
    }
    // Nothing more arrives later (no second start of the same mail).
    await new Promise((r) => setTimeout(r, 500));
    for (const user of USERS) expect(await inboxCount(node, user)).toBe(5);
    // Each recipient's copy carries its own Delivered-To, in the bytes and in the headers parsed while storing it.
    for (const user of USERS) {
      const inbox = (await node.app.backends.mailboxes.getMailbox(user, 'INBOX'))!;
      const subjects: string[] = [];
      for await (const message of node.app.backends.mailboxes.getMessages(user, inbox.id, [{ from: 1, to: Number.MAX_SAFE_INTEGER }], 'headers')) {
        expect(message.headers?.toString('utf8').startsWith(`Delivered-To: ${user}\r\n`)).toBe(true);
        subjects.push(String(message.parsed?.envelope?.subject ?? ''));
      }
      expect(subjects.sort()).toEqual(['eager 0', 'eager 1', 'eager 2', 'eager 3', 'eager 4']);
    }
  }, 60_000);

  it('runs its worker with 256 workflow task slots by default', async () => {
    expect(node.config.temporal.workflowTaskSlots).toBe(256);
    expect(node.app.workflowTaskSlots).toBe(256);
  });

  it('treats a second eager start of the same mail id as already queued and delivers it once', async () => {
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: `sender@${DOMAIN}`, to: [USERS[0]] }, 'Subject: twice\r\n\r\nonce\r\n');
    await eventually(async () => (await inboxCount(node, USERS[0])) === 6, 'the mail in the INBOX');
    const handle = node.app.client.workflow.getHandle(mailWorkflowId(mailId));
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 'the workflow to complete');
    // A retried hand-over of a mail that already finished is accepted without a second run.
    const queue = node.app.mailProcessing.queue;
    await expect(queue.enqueue(mailFor(mailId, 'no-such-blob'))).resolves.toBeUndefined();
    await new Promise((r) => setTimeout(r, 500));
    expect(await inboxCount(node, USERS[0])).toBe(6);
  }, 60_000);

  it('answers a temporary failure (451 on SMTP) when the eager connection is closed, and recovers with a normal client', async () => {
    const connection = await Connection.connect({ address: TEST_TEMPORAL_ADDRESS });
    await connection.close();
    // A client that cannot eagerly start (closed, not the worker's native connection) fails the hand-over.
    const queue = new TemporalMailQueue(node.app.client, node.config.temporal.taskQueue);
    queue.startEagerlyWith(new Client({ connection, namespace: node.config.temporal.namespace }));
    await expect(queue.enqueue(mailFor('eager-closed-1', 'no-such-blob'))).rejects.toBeInstanceOf(TemporaryError);
    expect(queue.eagerlyStarted).toBe(0);
    // Without the eager client the same mail is started normally (and ends in the error path: no blob).
    queue.startEagerlyWith(null);
    const mailId = `eager-fallback-${Date.now()}`;
    await queue.enqueue(mailFor(mailId, 'no-such-blob'));
    expect(queue.eagerlyStarted).toBe(0);
    const handle = node.app.client.workflow.getHandle(mailWorkflowId(mailId));
    expect((await handle.describe()).status.name).toMatch(/RUNNING|COMPLETED/);
    await handle.terminate('test over').catch(() => undefined);
  }, 60_000);

  it('answers a permanent failure when Temporal refuses the start itself (a sender above its 2 KB value limit)', async () => {
    const queue = node.app.mailProcessing.queue;
    const mail = { ...mailFor(`refused-${Date.now()}`, 'no-such-blob'), sender: `${'x'.repeat(3000)}@${DOMAIN}` };
    const refusal = await queue.enqueue(mail).then(() => null, (err: unknown) => err);
    expect(refusal).toBeInstanceOf(PermanentError);
    expect(String(refusal)).toMatch(/size limit/);
  }, 60_000);
});

describe('temporal.workflowTaskSlots', () => {
  it('is read from the environment and refuses fewer than 2 slots or a non-number', () => {
    expect(loadConfig({ env: { POSTFLOW_TEMPORAL_WORKFLOW_TASK_SLOTS: '64' } }).temporal.workflowTaskSlots).toBe(64);
    expect(() => loadConfig({ env: { POSTFLOW_TEMPORAL_WORKFLOW_TASK_SLOTS: '1' } })).toThrow(/workflowTaskSlots/);
    expect(() => loadConfig({ env: { POSTFLOW_TEMPORAL_WORKFLOW_TASK_SLOTS: 'many' } })).toThrow(/workflowTaskSlots/);
  });

  it('with only 2 slots, 12 concurrent mails (more than the free slots) are each delivered once', async () => {
    const node = await startTestNode('embedded', { temporal: { workflowTaskSlots: 2 } });
    try {
      expect(node.app.workflowTaskSlots).toBe(2);
      const domain = 'slots.test';
      expect((await adminPut(node.webadmin, `/domains/${domain}`)).status).toBe(204);
      expect((await adminPut(node.webadmin, `/users/dan@${domain}`, { password: 'pw' })).status).toBe(204);
      const sent = await Promise.all(Array.from({ length: 12 }, (_, i) => sendMail(node.app.ports.smtp as number, { from: `sender@${domain}`, to: [`dan@${domain}`] }, `Subject: slot ${i}\r\n\r\nbody ${i}\r\n`)));
      expect(new Set(sent.map((s) => s.mailId)).size).toBe(12);
      await eventually(async () => (await inboxCount(node, `dan@${domain}`)) === 12, '12 mails in the INBOX');
      await new Promise((r) => setTimeout(r, 500));
      expect(await inboxCount(node, `dan@${domain}`)).toBe(12);
    } finally {
      await node.stop();
    }
  }, 120_000);
});
