import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { TemporaryError } from '../../src/core/errors';
import type { MailboxEvent } from '../../src/events/api/event-bus';
import { RabbitMqEventBus } from '../../src/events/rabbitmq/rabbitmq-event-bus';
import { newRunId } from '../helpers/engines';
import { PrivateRabbitMqNode } from './private-rabbitmq-node';
import { sqliteDeadLetters } from './sqlite-dead-letters-fixture';

// A real broker restart, on a node of this file only (never the shared one).
const runId = newRunId();
const logger = pino({ level: 'silent' });
let broker: PrivateRabbitMqNode;

beforeAll(async () => {
  broker = await PrivateRabbitMqNode.create(`postflow-test-${runId}`);
  await broker.start();
}, 90_000);

afterAll(async () => {
  await broker?.destroy();
}, 30_000);

async function eventually(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it('loses no acknowledged event when the broker is stopped and started again while events flow, and resumes without a Postflow restart', async () => {
  const store = sqliteDeadLetters();
  const config = { uri: broker.uri, prefix: 'postflow' };
  const options = { deadLetters: () => store.deadLetters, retry: { maxRetries: 3, firstBackoffMs: 20 }, dispatchTimeoutMs: 2_000 };
  const sender = await RabbitMqEventBus.connect(config, logger, options);
  const receiver = await RabbitMqEventBus.connect(config, logger, options);
  try {
    const handled = new Set<string>();
    await receiver.registerGroupListener({ group: 'indexing', handle: async (event) => void handled.add(event.eventId) });

    const acknowledged: MailboxEvent[] = [];
    let temporaryFailures = 0;
    let stopProducing = false;
    const producer = (async () => {
      for (let uid = 1; !stopProducing; uid++) {
        const event: MailboxEvent = { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId: randomUUID(), uids: [uid], modSeq: uid };
        for (;;) {
          try {
            await sender.dispatch(event);
            acknowledged.push(event);
            break;
          } catch (err) {
            // As the delivery activity does: a TemporaryError is retried (here, until the broker is back).
            if (!(err instanceof TemporaryError)) throw err;
            temporaryFailures++;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    await eventually(() => acknowledged.length >= 200, 'events flowing');
    await broker.stop();
    await eventually(() => !sender.connected && !receiver.connected, 'both nodes seeing the broker gone');
    const acknowledgedBeforeRestart = acknowledged.length;
    await broker.start();
    await eventually(() => acknowledged.length >= acknowledgedBeforeRestart + 200, 'events flowing after the restart');
    stopProducing = true;
    await producer;

    expect(temporaryFailures).toBeGreaterThan(0);
    await eventually(() => acknowledged.every((e) => handled.has(e.eventId)), 'every acknowledged event handled by the group');
    expect(sender.connected && receiver.connected).toBe(true);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
    store.cleanup();
  }
}, 120_000);
