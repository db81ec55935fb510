import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import pino from 'pino';
import type { GroupListener, MailboxEvent } from '../../src/events/api/event-bus';
import { RabbitMqEventBus } from '../../src/events/rabbitmq/rabbitmq-event-bus';
import { CONTRACT_RETRY_POLICY, describeEventBusContract } from '../contracts/event-bus.contract';
import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { RabbitMqAdmin } from '../events/rabbitmq-admin';
import { sqliteDeadLetters } from '../events/sqlite-dead-letters-fixture';

// One vhost per run, deleted at the end with every queue and exchange of the run.
const runId = newRunId();
const vhost = `postflow-test-${runId}`;
const baseConfig = distributedTestConfig(runId);
const admin = new RabbitMqAdmin(baseConfig);
const config = { ...baseConfig, rabbitmq: { ...baseConfig.rabbitmq } };
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  await requireEngines(baseConfig, 'rabbitmq');
  config.rabbitmq.uri = await admin.createVhost(baseConfig, vhost);
});

afterAll(async () => {
  await admin.deleteVhost(vhost);
});

async function connectNode(deadLetters: ReturnType<typeof sqliteDeadLetters>['deadLetters']): Promise<RabbitMqEventBus> {
  return RabbitMqEventBus.connect(config.rabbitmq, logger, { deadLetters: () => deadLetters, retry: CONTRACT_RETRY_POLICY, connectionName: `test-${runId}` });
}

describeEventBusContract(
  'RabbitMQ',
  async () => {
    const store = sqliteDeadLetters();
    const bus = await connectNode(store.deadLetters);
    const otherNode = await connectNode(store.deadLetters);
    return {
      bus,
      otherNode,
      deadLetters: store.deadLetters,
      async cleanup() {
        await Promise.all([bus.close(), otherNode.close()]);
        store.cleanup();
      },
    };
  },
  { spansNodes: true },
);

describe('RabbitMQ event bus', () => {
  let store: ReturnType<typeof sqliteDeadLetters>;
  let bus: RabbitMqEventBus;

  beforeEach(async () => {
    store = sqliteDeadLetters();
    bus = await connectNode(store.deadLetters);
  });

  afterEach(async () => {
    await bus.close();
    store.cleanup();
  });

  function recorder(group: string): GroupListener & { events: MailboxEvent[] } {
    const events: MailboxEvent[] = [];
    return { group, events, handle: async (event) => void events.push(event) };
  }

  async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('keeps the events of a group while no node listens, and delivers them when it registers again', async () => {
    const group = `durable-${randomUUID()}`;
    await (await bus.registerGroupListener(recorder(group))).unregister();
    const event: MailboxEvent = { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId: randomUUID(), uids: [1], modSeq: 1 };
    await bus.dispatch(event);
    const back = recorder(group);
    await bus.registerGroupListener(back);
    await eventually(() => back.events.length === 1, 'the kept event');
    expect(back.events).toEqual([event]);
  });

  it('stores an event of an unknown version in the dead letters of the group at once, without crashing the consumer', async () => {
    const listener = recorder(`versions-${randomUUID()}`);
    await bus.registerGroupListener(listener);
    const future = JSON.stringify({ version: 99, type: 'Added', eventId: randomUUID(), mailboxId: randomUUID() });
    const connection = await amqp.connect(config.rabbitmq.uri);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish(bus.fanout, 'any', Buffer.from(future), { persistent: true });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    let ids: string[] = [];
    await eventually(async () => (ids = await store.deadLetters.listInsertionIds(listener.group)).length > 0, 'the dead letter');
    expect(await store.deadLetters.get(listener.group, ids[0])).toBe(future);
    const next: MailboxEvent = { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId: randomUUID(), uids: [1], modSeq: 1 };
    await bus.dispatch(next);
    await eventually(() => listener.events.length === 1, 'the next event');
    expect(listener.events).toEqual([next]);
  });

  it('refuses to connect to an unreachable broker with a message naming it', async () => {
    await expect(RabbitMqEventBus.connect({ ...config.rabbitmq, uri: 'amqp://guest:guest@127.0.0.1:1' }, logger)).rejects.toThrow('Cannot reach RabbitMQ at amqp://127.0.0.1:1');
  });
});
