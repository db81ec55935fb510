import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { TemporaryError } from '../../src/core/errors';
import type { GroupListener, MailboxEvent } from '../../src/events/api/event-bus';
import { RabbitMqEventBus } from '../../src/events/rabbitmq/rabbitmq-event-bus';
import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { RabbitMqAdmin } from './rabbitmq-admin';
import { sqliteDeadLetters } from './sqlite-dead-letters-fixture';

// A broker restart as the client sees it: the broker closes the connections (we force-close ours
// through the management API instead of restarting the broker other suites share).
const runId = newRunId();
const vhost = `postflow-test-${runId}`;
const baseConfig = distributedTestConfig(runId);
const admin = new RabbitMqAdmin(baseConfig);
const config = { ...baseConfig.rabbitmq };
const logger = pino({ level: 'silent' });
const retry = { maxRetries: 3, firstBackoffMs: 20 };

beforeAll(async () => {
  await requireEngines(baseConfig, 'rabbitmq');
  config.uri = await admin.createVhost(baseConfig, vhost);
});

afterAll(async () => {
  await admin.deleteVhost(vhost);
});

async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Closes this run's connections once the management API lists them (it lists a new one within about a second). */
async function restartBroker(namePrefix: string, expected: number): Promise<void> {
  await eventually(async () => (await admin.closeConnections(namePrefix)) >= expected, `${expected} connections to close`, 10_000);
}

function added(mailboxId: string, uid: number): MailboxEvent {
  return { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId, uids: [uid], modSeq: uid };
}

describe('RabbitMQ event bus across broker restarts', () => {
  const store = sqliteDeadLetters();
  const buses: RabbitMqEventBus[] = [];

  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    store.cleanup();
  });

  async function node(name: string, dispatchTimeoutMs?: number): Promise<RabbitMqEventBus> {
    const bus = await RabbitMqEventBus.connect(config, logger, { deadLetters: () => store.deadLetters, retry, connectionName: `test-${runId}-${name}`, dispatchTimeoutMs });
    buses.push(bus);
    return bus;
  }

  it('loses no acknowledged event and resumes consuming by itself when the broker drops every connection while events flow', async () => {
    const sender = await node('sender');
    const receiver = await node('receiver');
    const handled = new Map<string, number>();
    const group: GroupListener = { group: `indexing-${runId}`, handle: async (event) => void handled.set(event.eventId, (handled.get(event.eventId) ?? 0) + 1) };
    await receiver.registerGroupListener(group);
    const mailboxId = randomUUID();
    const keyEvents: MailboxEvent[] = [];
    await receiver.registerMailboxListener(mailboxId, { handle: async (event) => void keyEvents.push(event) });

    const firstKeyQueue = receiver.queue;
    const acknowledged: MailboxEvent[] = [];
    let temporaryFailures = 0;
    const TOTAL = 600;
    const producer = (async () => {
      for (let uid = 1; uid <= TOTAL; uid++) {
        const event = added(mailboxId, uid);
        // As the delivery activity does: a TemporaryError is retried.
        for (;;) {
          try {
            await sender.dispatch(event);
            acknowledged.push(event);
            break;
          } catch (err) {
            if (!(err instanceof TemporaryError)) throw err;
            temporaryFailures++;
          }
        }
        if (uid % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    await eventually(() => acknowledged.length >= 150, 'events flowing');
    await restartBroker(`test-${runId}-`, 2);
    await eventually(() => acknowledged.length >= 350, 'events flowing again');
    await restartBroker(`test-${runId}-`, 2);
    await producer;

    await eventually(() => acknowledged.every((e) => handled.has(e.eventId)), 'every acknowledged event handled by the group');
    expect(acknowledged).toHaveLength(TOTAL);
    expect(temporaryFailures).toBe(0);
    await eventually(() => sender.connected && receiver.connected, 'both nodes reconnected');
    await expect(receiver.checkHealth()).resolves.toBeUndefined();
    expect(receiver.queue).not.toBe(firstKeyQueue);

    // The key listener's queue is per connection: events of the outage itself may be missed
    // (live IMAP sessions resynchronise), but the consumer is back.
    const after = added(mailboxId, TOTAL + 1);
    await sender.dispatch(after);
    await eventually(() => keyEvents.some((e) => e.eventId === after.eventId), 'a key event after the restarts');
  }, 60_000);

  it('consumes again when the broker cancels a group consumer (its queue deleted)', async () => {
    const bus = await node('cancelled');
    const handled: MailboxEvent[] = [];
    await bus.registerGroupListener({ group: 'search', handle: async (event) => void handled.push(event) });
    const mailboxId = randomUUID();
    const keyEvents: MailboxEvent[] = [];
    await bus.registerMailboxListener(mailboxId, { handle: async (event) => void keyEvents.push(event) });
    const keyQueue = bus.queue;
    await admin.deleteQueue(vhost, bus.groupQueue('search'));
    // A reconnection declares a new key queue.
    await eventually(() => bus.connected && bus.queue !== keyQueue, 'the reconnection');
    const event = added(mailboxId, 1);
    await bus.dispatch(event);
    await eventually(() => handled.some((e) => e.eventId === event.eventId) && keyEvents.some((e) => e.eventId === event.eventId), 'the event for the group and the key');
  }, 30_000);

  it('declares its exchanges and queues again when the broker lost them, fails dispatch with a TemporaryError while it cannot reconnect, and takes registrations meanwhile', async () => {
    const lostVhost = `${vhost}-lost`;
    const uri = await admin.createVhost(baseConfig, lostVhost);
    try {
      const bus = await RabbitMqEventBus.connect({ ...config, uri }, logger, {
        deadLetters: () => store.deadLetters,
        retry,
        connectionName: `test-${runId}-lost`,
        dispatchTimeoutMs: 1_000,
      });
      buses.push(bus);
      const handled: MailboxEvent[] = [];
      await bus.registerGroupListener({ group: 'quota', handle: async (event) => void handled.push(event) });

      await admin.deleteVhost(lostVhost);
      await eventually(() => !bus.connected, 'the connection loss');
      const started = Date.now();
      await expect(bus.dispatch(added(randomUUID(), 1))).rejects.toThrow(TemporaryError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      await expect(bus.checkHealth()).rejects.toThrow('reconnecting');
      const lateGroup: MailboxEvent[] = [];
      await bus.registerGroupListener({ group: 'indexing', handle: async (event) => void lateGroup.push(event) });
      const mailboxId = randomUUID();
      const keyEvents: MailboxEvent[] = [];
      await bus.registerMailboxListener(mailboxId, { handle: async (event) => void keyEvents.push(event) });

      await admin.createVhost(baseConfig, lostVhost);
      await eventually(() => bus.connected, 'the reconnection');
      const event = added(mailboxId, 2);
      await bus.dispatch(event);
      await eventually(
        () => [handled, lateGroup, keyEvents].every((received) => received.some((e) => e.eventId === event.eventId)),
        'the event after the broker came back empty, for the groups and the key registered before and during the outage',
      );
    } finally {
      await admin.deleteVhost(lostVhost);
    }
  }, 60_000);
});
