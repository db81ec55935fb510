import { randomUUID } from 'node:crypto';
import type { GroupListener, MailboxEvent } from '../../src/events/api/event-bus';
import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { adminPut, sendMail, startTestNode, type TestNode } from '../helpers/postflow';
import { PrivateRabbitMqNode } from './private-rabbitmq-node';

/**
 * A whole distributed node on a private RabbitMQ broker (never the shared one) that is stopped
 * and started again while mail flows through SMTP: every accepted mail is delivered, the Added
 * event of every delivered message reaches the group listener, and the node's consumers resume
 * without a restart of Postflow.
 */
jest.setTimeout(300_000);

const runId = newRunId();
const USER = 'flow@restart.example';
let broker: PrivateRabbitMqNode;
let node: TestNode;

beforeAll(async () => {
  await requireEngines(distributedTestConfig(runId), 'cassandra', 's3');
  broker = await PrivateRabbitMqNode.create(`postflow-flow-${runId}`);
  await broker.start();
  node = await startTestNode('distributed', { rabbitmq: { uri: broker.uri, prefix: `postflow-flow-${runId}` }, events: { maxRetries: 3, firstBackoffMs: 50 } });
  expect((await adminPut(node.webadmin, '/domains/restart.example')).status).toBe(204);
  expect((await adminPut(node.webadmin, `/users/${USER}`, { password: 'flow-password' })).status).toBe(204);
}, 180_000);

afterAll(async () => {
  await node?.stop();
  await broker?.destroy();
}, 60_000);

async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

class AddedCounter implements GroupListener {
  readonly group = 'flow-counter';
  readonly uids = new Set<number>();
  async handle(event: MailboxEvent): Promise<void> {
    if (event.type === 'Added') for (const uid of event.uids) this.uids.add(uid);
  }
}

it('delivers every accepted mail and loses no Added event across a broker restart, without restarting Postflow', async () => {
  const listener = new AddedCounter();
  await node.app.backends.events.registerGroupListener(listener);
  let accepted = 0;
  let stop = false;
  const smtp = node.app.ports.smtp as number;
  const producer = (async () => {
    while (!stop) {
      const id = randomUUID();
      try {
        await sendMail(smtp, { from: 'sender@remote.example', to: [USER] }, `From: sender@remote.example\r\nTo: ${USER}\r\nSubject: ${id}\r\nMessage-ID: <${id}@remote.example>\r\n\r\nflow\r\n`);
        accepted++;
      } catch {
        // A mail the server did not accept is the client's to retry; only accepted mails must arrive.
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  await eventually(() => accepted >= 10, 'mail flowing before the restart');
  await broker.stop();
  const bus = node.app.backends.events as unknown as { connected: boolean };
  await eventually(() => !bus.connected, 'the node seeing the broker gone', 30_000);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const acceptedDuringOutage = accepted;
  await broker.start();
  await eventually(() => bus.connected, 'the node reconnected', 60_000);
  await eventually(() => accepted >= acceptedDuringOutage + 10, 'mail flowing after the restart');
  stop = true;
  await producer;

  const inboxCount = async () => (await node.app.backends.mailboxes.getMailbox(USER, 'INBOX'))?.messageCount ?? 0;
  await eventually(async () => (await inboxCount()) === accepted, `all ${accepted} accepted mails delivered`);
  await eventually(() => listener.uids.size === accepted, `the Added events of all ${accepted} messages`);
  expect([...listener.uids].sort((x, y) => x - y)).toEqual(Array.from({ length: accepted }, (_, i) => i + 1));
  expect(await node.app.backends.deadLetters.listGroups()).toEqual([]);
});
