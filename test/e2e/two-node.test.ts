import { randomUUID } from 'node:crypto';
import type { GroupListener, MailboxEvent, Registration } from '../../src/events/api/event-bus';
import { RabbitMqAdmin } from '../events/rabbitmq-admin';
import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { adminPut, dropKeyspace, imapClient, sendMail, startTestNode, type TestNode } from '../helpers/postflow';

/**
 * Two Postflow nodes of one cluster (distributed profile): one Cassandra keyspace, one RabbitMQ
 * exchange prefix, one Temporal task queue. Node B runs no worker, so every mail received on A is
 * processed and delivered by A's worker: what B sees, it saw through the shared engines.
 */
jest.setTimeout(240_000);

const runId = newRunId();
const keyspace = `postflow_e2e_2n_${runId}`;
const prefix = `postflow-2n-${runId}`;
const taskQueue = `test-2n-${runId}`;
const ALICE = 'alice@cluster.example';
const PASSWORD = 'alice-secret-password';

let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  await requireEngines(distributedTestConfig(runId), 'cassandra', 's3', 'rabbitmq');
  const shared = { rabbitmq: { prefix }, temporal: { taskQueue }, auth: { maxFailuresPerAccount: 3, failureDelayMs: 0 } };
  a = await startTestNode('distributed', shared, { keyspace });
  b = await startTestNode('distributed', { ...shared, temporal: { taskQueue, worker: false } }, { keyspace });
  expect((await adminPut(a.webadmin, '/domains/cluster.example')).status).toBe(204);
  expect((await adminPut(a.webadmin, `/users/${ALICE}`, { password: PASSWORD })).status).toBe(204);
}, 240_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  if (a) {
    await new RabbitMqAdmin(a.config).deleteByPrefix(prefix);
    await dropKeyspace(a.config, keyspace);
  }
}, 60_000);

async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('a user created through node A exists on node B', async () => {
  expect((await fetch(`${b.webadmin}/users/${ALICE}`, { method: 'HEAD' })).status).toBe(200);
});

it('an IMAP IDLE on node B sees a mail delivered through SMTP on node A (EXISTS)', async () => {
  const watcher = imapClient(b.app.ports.imap as number, ALICE, PASSWORD);
  await watcher.connect();
  try {
    const inbox = await watcher.mailboxOpen('INBOX');
    const before = inbox.exists;
    const exists = new Promise<number>((resolve) => watcher.on('exists', (data: { count: number }) => resolve(data.count)));
    const idling = watcher.idle();
    const raw = `From: bob@remote.example\r\nTo: ${ALICE}\r\nSubject: across the cluster\r\nMessage-ID: <two-node-${runId}@remote.example>\r\n\r\nhello from node A\r\n`;
    await sendMail(a.app.ports.smtp as number, { from: 'bob@remote.example', to: [ALICE] }, raw);
    const count = await Promise.race([exists, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no EXISTS on node B within 60 s')), 60_000))]);
    expect(count).toBe(before + 1);
    await watcher.noop();
    await idling.catch(() => undefined);
    const message = await watcher.fetchOne(String(count), { envelope: true });
    expect(message && message.envelope?.subject).toBe('across the cluster');
  } finally {
    await watcher.logout().catch(() => undefined);
  }
});

/** Counts every event it handles, per event id. */
class CountingListener implements GroupListener {
  readonly group = `two-node-count-${runId}`;
  readonly seen: string[] = [];
  async handle(event: MailboxEvent): Promise<void> {
    this.seen.push(event.eventId);
  }
}

it('a group listener registered on both nodes handles each event exactly once across the cluster', async () => {
  const onA = new CountingListener();
  const onB = new CountingListener();
  const registrations: Registration[] = [await a.app.backends.events.registerGroupListener(onA), await b.app.backends.events.registerGroupListener(onB)];
  try {
    const events: MailboxEvent[] = Array.from({ length: 60 }, (_, i) => ({ type: 'Added', eventId: randomUUID(), user: ALICE, mailboxId: randomUUID(), uids: [i + 1], modSeq: i + 1 }));
    // Half dispatched from each node.
    await Promise.all(events.map((event, i) => (i % 2 === 0 ? a : b).app.backends.events.dispatch(event)));
    await eventually(() => onA.seen.length + onB.seen.length >= events.length, 'every event handled');
    // Give a duplicate the time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const all = [...onA.seen, ...onB.seen];
    expect(all).toHaveLength(events.length);
    expect(new Set(all)).toEqual(new Set(events.map((e) => e.eventId)));
  } finally {
    for (const registration of registrations) await registration.unregister();
  }
});

it('a second registration of the same group on one node is refused', async () => {
  const listener = new CountingListener();
  const registration = await a.app.backends.events.registerGroupListener(listener);
  try {
    await expect(a.app.backends.events.registerGroupListener(new CountingListener())).rejects.toThrow();
  } finally {
    await registration.unregister();
  }
});

it('login failures on node A count on node B: the account is throttled cluster-wide', async () => {
  const user = `throttled-${runId}@cluster.example`;
  expect((await adminPut(a.webadmin, `/users/${user}`, { password: 'right-password' })).status).toBe(204);
  for (let i = 0; i < 3; i++) {
    const bad = imapClient(a.app.ports.imap as number, user, 'wrong-password');
    await expect(bad.connect()).rejects.toThrow();
    bad.close();
  }
  const onB = imapClient(b.app.ports.imap as number, user, 'right-password');
  await expect(onB.connect()).rejects.toThrow();
  onB.close();
  // Another account is not affected (the address budget is larger).
  const alice = imapClient(b.app.ports.imap as number, ALICE, PASSWORD);
  await alice.connect();
  await alice.logout();
});
