import { randomUUID } from 'node:crypto';
import type { GroupListener, MailboxEvent } from '../../src/events/api/event-bus';
import { startTestNode, type TestNode } from '../helpers/postflow';
import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { RabbitMqAdmin } from './rabbitmq-admin';

/**
 * Dead-letter redelivery as real tasks of the task manager, on a whole node per profile: James'
 * `POST /events/deadLetter…?action=reDeliver` answer 201 {taskId}, the task is a workflow visible
 * under `/tasks` with James' types `event-dead-letters-redeliver-{all,group,one}`.
 */
jest.setTimeout(180_000);

/** A listener that fails `failures` times per event of a poisoned mailbox, or until fixed. */
class FlakyListener implements GroupListener {
  readonly attempts = new Map<string, number>();
  readonly handled: MailboxEvent[] = [];
  fixed = false;
  constructor(
    readonly group: string,
    private readonly poisoned: string,
    private readonly failures: number = Number.POSITIVE_INFINITY,
  ) {}
  async handle(event: MailboxEvent): Promise<void> {
    if (event.mailboxId === this.poisoned) {
      const n = (this.attempts.get(event.eventId) ?? 0) + 1;
      this.attempts.set(event.eventId, n);
      if (!this.fixed && n <= this.failures) throw new Error(`cannot handle this event yet (attempt ${n})`);
    }
    this.handled.push(event);
  }
}

async function eventually(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function added(mailboxId: string): MailboxEvent {
  return { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId, uids: [1], modSeq: 1 };
}

describe.each(['embedded', 'distributed'] as const)('dead-letter redelivery tasks on the %s profile', (profile) => {
  let node: TestNode;
  const runId = newRunId();
  const prefix = `postflow-dlt-${runId}`;

  beforeAll(async () => {
    if (profile === 'distributed') await requireEngines(distributedTestConfig(runId), 'cassandra', 's3', 'rabbitmq');
    node = await startTestNode(profile, profile === 'distributed' ? { rabbitmq: { prefix }, s3: { bucketPrefix: `pfdlt-${runId}-` }, events: { maxRetries: 3, firstBackoffMs: 20 } } : { events: { maxRetries: 3, firstBackoffMs: 20 } });
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    if (profile === 'distributed' && node) await new RabbitMqAdmin(node.config).deleteByPrefix(prefix).catch(() => undefined);
  });

  const api = (route: string, method = 'GET') => fetch(node.webadmin + route, { method });

  async function awaitTask(taskId: string): Promise<{ status: string; type: string; additionalInformation: Record<string, unknown> }> {
    const response = await api(`/tasks/${taskId}/await?timeout=60s`);
    expect(response.status).toBe(200);
    return (await response.json()) as { status: string; type: string; additionalInformation: Record<string, unknown> };
  }

  it('a listener that fails 3 times then succeeds leaves no dead letter', async () => {
    const mailboxId = randomUUID();
    const listener = new FlakyListener(`flaky-${runId}`, mailboxId, 3);
    const registration = await node.app.backends.events.registerGroupListener(listener);
    try {
      const event = added(mailboxId);
      await node.app.backends.events.dispatch(event);
      await eventually(() => listener.handled.some((e) => e.eventId === event.eventId), 'the event handled on the 4th attempt');
      expect(listener.attempts.get(event.eventId)).toBe(4);
      expect(await node.app.backends.deadLetters.listInsertionIds(listener.group)).toEqual([]);
    } finally {
      await registration.unregister();
    }
  });

  it('a poison event ends in the dead letters and is redelivered by a group task visible in /tasks', async () => {
    const mailboxId = randomUUID();
    const listener = new FlakyListener(`poison-${runId}`, mailboxId);
    const registration = await node.app.backends.events.registerGroupListener(listener);
    try {
      const event = added(mailboxId);
      await node.app.backends.events.dispatch(event);
      await eventually(async () => (await node.app.backends.deadLetters.listInsertionIds(listener.group)).length === 1, 'the dead letter');
      expect(listener.attempts.get(event.eventId)).toBe(4);

      listener.fixed = true;
      const response = await api(`/events/deadLetter/groups/${listener.group}?action=reDeliver`, 'POST');
      expect(response.status).toBe(201);
      const { taskId } = (await response.json()) as { taskId: string };
      expect(response.headers.get('location')).toBe(`/tasks/${taskId}`);
      const task = await awaitTask(taskId);
      expect(task).toMatchObject({
        status: 'completed',
        type: 'event-dead-letters-redeliver-group',
        additionalInformation: { type: 'event-dead-letters-redeliver-group', successfulRedeliveriesCount: 1, failedRedeliveriesCount: 0, group: listener.group, insertionId: null },
      });
      expect(((await (await api('/tasks?status=completed')).json()) as { taskId: string }[]).map((t) => t.taskId)).toContain(taskId);
      await eventually(() => listener.handled.some((e) => e.eventId === event.eventId), 'the redelivered event');
      expect(await node.app.backends.deadLetters.listInsertionIds(listener.group)).toEqual([]);
    } finally {
      await registration.unregister();
    }
  });

  it('redelivers all groups and one insertion id as tasks; a letter whose group has no listener stays and is counted failed', async () => {
    const mailboxId = randomUUID();
    const listener = new FlakyListener(`fixed-${runId}`, mailboxId);
    listener.fixed = true;
    const registration = await node.app.backends.events.registerGroupListener(listener);
    const orphanGroup = `orphan-${runId}`;
    try {
      const letter = (e: MailboxEvent) => JSON.stringify({ version: 1, ...e });
      const one = await node.app.backends.deadLetters.store(listener.group, letter(added(mailboxId)));
      const two = await node.app.backends.deadLetters.store(listener.group, letter(added(mailboxId)));
      const orphan = await node.app.backends.deadLetters.store(orphanGroup, letter(added(mailboxId)));

      const single = await api(`/events/deadLetter/groups/${listener.group}/${one}?action=reDeliver`, 'POST');
      expect(single.status).toBe(201);
      const oneTask = await awaitTask(((await single.json()) as { taskId: string }).taskId);
      expect(oneTask).toMatchObject({ status: 'completed', type: 'event-dead-letters-redeliver-one', additionalInformation: { successfulRedeliveriesCount: 1, failedRedeliveriesCount: 0, group: listener.group, insertionId: one } });
      expect(await node.app.backends.deadLetters.listInsertionIds(listener.group)).toEqual([two]);

      const all = await api('/events/deadLetter?action=reDeliver', 'POST');
      expect(all.status).toBe(201);
      const allTask = await awaitTask(((await all.json()) as { taskId: string }).taskId);
      expect(allTask).toMatchObject({ status: 'completed', type: 'event-dead-letters-redeliver-all', additionalInformation: { group: null, insertionId: null } });
      expect(allTask.additionalInformation.successfulRedeliveriesCount).toBeGreaterThanOrEqual(1);
      expect(allTask.additionalInformation.failedRedeliveriesCount).toBeGreaterThanOrEqual(1);
      expect(await node.app.backends.deadLetters.listInsertionIds(listener.group)).toEqual([]);
      expect(await node.app.backends.deadLetters.listInsertionIds(orphanGroup)).toEqual([orphan]);
      await eventually(() => listener.handled.length === 2, 'both redelivered letters handled');
    } finally {
      await node.app.backends.deadLetters.remove(orphanGroup, (await node.app.backends.deadLetters.listInsertionIds(orphanGroup))[0] ?? randomUUID()).catch(() => undefined);
      await registration.unregister();
    }
  });

  it('refuses a missing or wrong action, a bad group and an unknown insertion id without starting a task', async () => {
    expect((await api('/events/deadLetter', 'POST')).status).toBe(400);
    expect((await api('/events/deadLetter?action=reIndex', 'POST')).status).toBe(400);
    expect((await api('/events/deadLetter/groups/bad%20group?action=reDeliver', 'POST')).status).toBe(400);
    expect((await api(`/events/deadLetter/groups/g/not-a-uuid?action=reDeliver`, 'POST')).status).toBe(400);
    expect((await api(`/events/deadLetter/groups/g/${randomUUID()}?action=reDeliver`, 'POST')).status).toBe(404);
  });
});
