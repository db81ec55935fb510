import { adminPut, sendMail } from '../helpers/postflow';
import { eventually, SmtpSink, startRemoteTestNode, tableResolver, type RemoteTestNode } from '../mailet/remote-node';

const ALICE = 'alice@local.test';
const raw = (subject: string) => `From: ${ALICE}\r\nTo: x@slow.test\r\nSubject: ${subject}\r\n\r\nqueued\r\n`;

interface QueuedMail {
  name: string;
  sender: string | null;
  recipients: string[];
  nextDelivery: string | null;
}

describe('the mail queues (Temporal workflows) through WebAdmin /mailQueues', () => {
  let node: RemoteTestNode;
  let sink: SmtpSink;
  let refuse = true;

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    sink.answer = () => (refuse ? { code: 421, message: '4.7.0 Busy, come back later' } : null);
    // Ten-minute delays: only a flush can release a mail within the test.
    node = await startRemoteTestNode({ resolver: tableResolver({ 'slow.test': sink.port }), delays: '10 minutes', maxRetries: 5 });
    expect((await adminPut(node.webadmin, '/domains/local.test')).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${ALICE}`, { password: 'pw' })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await sink?.stop();
  });

  const get = async <T>(route: string): Promise<T> => (await (await fetch(node.webadmin + route)).json()) as T;
  const delayed = () => get<QueuedMail[]>('/mailQueues/outgoing/mails?delayed=true');
  async function queue(recipient: string, subject: string): Promise<string> {
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: [recipient] }, raw(subject));
    await eventually(async () => (await delayed()).some((m) => m.recipients.includes(recipient)), 20_000, `${recipient} delayed in the queue`);
    return mailId;
  }
  async function awaitTask(taskId: string): Promise<{ status: string; type: string; additionalInformation: Record<string, unknown> }> {
    return get(`/tasks/${taskId}/await?timeout=30s`);
  }

  it('lists the queues and counts and browses delayed mails with their next delivery', async () => {
    expect(await get('/mailQueues')).toEqual(['spool', 'outgoing']);
    await queue('first@slow.test', 'first');
    const mails = await delayed();
    const mail = mails.find((m) => m.recipients.includes('first@slow.test'))!;
    expect(mail.sender).toBe(ALICE);
    expect(new Date(mail.nextDelivery!).getTime()).toBeGreaterThan(Date.now() + 8 * 60_000);
    expect(await get<{ name: string; size: number }>('/mailQueues/outgoing')).toEqual({ name: 'outgoing', size: expect.any(Number) });
    expect((await get<{ size: number }>('/mailQueues/outgoing')).size).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${node.webadmin}/mailQueues/nope`)).status).toBe(404);
  });

  it('flush releases delayed mails now instead of after their delay', async () => {
    const mailId = await queue('flushed@slow.test', 'flush me');
    refuse = false;
    const response = await fetch(`${node.webadmin}/mailQueues/outgoing/mails?delayed=true`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayed: false }),
    });
    expect(response.status).toBe(204);
    const result = (await node.app.client.workflow.getHandle(`outgoing-${mailId}/${mailId}-slow.test`).result()) as { delivered: string[] };
    expect(result.delivered).toEqual(['flushed@slow.test']);
    expect(sink.received.filter((m) => m.to.includes('flushed@slow.test'))).toHaveLength(1);
    refuse = true;
  }, 60_000);

  it('refuses a flush without delayed=true and {"delayed": false}', async () => {
    const bad = await fetch(`${node.webadmin}/mailQueues/outgoing/mails?delayed=true`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"delayed":true}' });
    expect(bad.status).toBe(400);
  });

  it('deletes queued mails by recipient through a task, and clears a queue', async () => {
    await queue('deleted@slow.test', 'delete me');
    await queue('kept@slow.test', 'keep me');
    const deletion = await fetch(`${node.webadmin}/mailQueues/outgoing/mails?recipient=deleted@slow.test`, { method: 'DELETE' });
    expect(deletion.status).toBe(201);
    const { taskId } = (await deletion.json()) as { taskId: string };
    const task = await awaitTask(taskId);
    expect(task).toMatchObject({ status: 'completed', type: 'delete-mails-from-mail-queue', additionalInformation: { mailQueueName: 'outgoing', recipient: 'deleted@slow.test', initialCount: 1, remainingCount: 0 } });
    await eventually(async () => !(await delayed()).some((m) => m.recipients.includes('deleted@slow.test')), 20_000, 'the deleted mail to leave the queue');
    expect((await delayed()).some((m) => m.recipients.includes('kept@slow.test'))).toBe(true);

    const clear = await fetch(`${node.webadmin}/mailQueues/outgoing/mails`, { method: 'DELETE' });
    expect(clear.status).toBe(201);
    expect(await awaitTask(((await clear.json()) as { taskId: string }).taskId)).toMatchObject({ status: 'completed', type: 'clear-mail-queue' });
    await eventually(async () => (await get<{ size: number }>('/mailQueues/outgoing')).size === 0, 20_000, 'an empty outgoing queue');
    expect(sink.received.some((m) => m.to.includes('deleted@slow.test') || m.to.includes('kept@slow.test'))).toBe(false);
  }, 60_000);
});
