import { randomUUID } from 'node:crypto';
import type { EventBus, EventListener, MailboxEvent } from '../../src/events/api/event-bus';

export interface EventBusTestee {
  bus: EventBus;
  /** A second node on the same backend; required when the adapter spans nodes. */
  otherNode?: EventBus;
  cleanup(): Promise<void>;
}

export interface EventBusContractOptions {
  /** Whether events cross nodes (RabbitMQ) or stay in one process (in-process). */
  spansNodes: boolean;
}

/** How long a dispatched event may take to reach a listener (a broker round trip). */
const DELIVERY_TIMEOUT_MS = 5_000;

class Recorder implements EventListener {
  readonly events: MailboxEvent[] = [];
  async handle(event: MailboxEvent): Promise<void> {
    this.events.push(event);
  }
  has(eventId: string): boolean {
    return this.events.some((e) => e.eventId === eventId);
  }
}

function added(mailboxId: string, uid = 1): MailboxEvent {
  return { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId, uids: [uid], modSeq: uid };
}

async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The EventBus port's behaviour (key listeners), run against every adapter. Events from one
 * dispatcher reach a node in dispatch order, so "not delivered" is checked by waiting for a
 * later sentinel event instead of sleeping.
 */
export function describeEventBusContract(name: string, makeTestee: () => Promise<EventBusTestee>, options: EventBusContractOptions): void {
  describe(`EventBus contract: ${name}`, () => {
    let testee: EventBusTestee;
    let bus: EventBus;

    beforeEach(async () => {
      testee = await makeTestee();
      bus = testee.bus;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('delivers the events of a mailbox to its key listener, intact and in order', async () => {
      const mailboxId = randomUUID();
      const listener = new Recorder();
      await bus.registerMailboxListener(mailboxId, listener);
      const events: MailboxEvent[] = [
        { type: 'MailboxAdded', eventId: randomUUID(), user: 'alice@example.com', mailboxId, mailboxName: 'INBOX' },
        added(mailboxId, 1),
        { type: 'FlagsUpdated', eventId: randomUUID(), user: 'alice@example.com', mailboxId, uids: [1], modSeq: 2 },
      ];
      for (const event of events) await bus.dispatch(event);
      await eventually(() => listener.events.length === 3, 'three events');
      expect(listener.events).toEqual(events);
    });

    it('does not deliver the events of other mailboxes to a key listener', async () => {
      const mine = randomUUID();
      const listener = new Recorder();
      await bus.registerMailboxListener(mine, listener);
      await bus.dispatch(added(randomUUID()));
      const sentinel = added(mine);
      await bus.dispatch(sentinel);
      await eventually(() => listener.has(sentinel.eventId), 'the sentinel event');
      expect(listener.events).toEqual([sentinel]);
    });

    it('stops delivering to a listener once it unregisters', async () => {
      const mailboxId = randomUUID();
      const watched = randomUUID();
      const gone = new Recorder();
      const witness = new Recorder();
      const registration = await bus.registerMailboxListener(mailboxId, gone);
      await bus.registerMailboxListener(watched, witness);
      await registration.unregister();
      await bus.dispatch(added(mailboxId));
      const sentinel = added(watched);
      await bus.dispatch(sentinel);
      await eventually(() => witness.has(sentinel.eventId), 'the sentinel event');
      expect(gone.events).toEqual([]);
    });

    it('keeps delivering to the other listeners of a mailbox when one unregisters', async () => {
      const mailboxId = randomUUID();
      const leaving = new Recorder();
      const staying = new Recorder();
      const registration = await bus.registerMailboxListener(mailboxId, leaving);
      await bus.registerMailboxListener(mailboxId, staying);
      const both = added(mailboxId, 1);
      await bus.dispatch(both);
      await eventually(() => leaving.has(both.eventId) && staying.has(both.eventId), 'delivery to both listeners');
      await registration.unregister();
      const after = added(mailboxId, 2);
      await bus.dispatch(after);
      await eventually(() => staying.has(after.eventId), 'delivery to the remaining listener');
      expect(leaving.events).toEqual([both]);
    });

    it('delivers again to a mailbox whose listeners all left and a new one registered', async () => {
      const mailboxId = randomUUID();
      await (await bus.registerMailboxListener(mailboxId, new Recorder())).unregister();
      const listener = new Recorder();
      await bus.registerMailboxListener(mailboxId, listener);
      const event = added(mailboxId);
      await bus.dispatch(event);
      await eventually(() => listener.has(event.eventId), 'the event');
    });

    it('keeps delivering to other listeners when one listener fails', async () => {
      const mailboxId = randomUUID();
      const healthy = new Recorder();
      await bus.registerMailboxListener(mailboxId, {
        async handle() {
          throw new Error('listener failure');
        },
      });
      await bus.registerMailboxListener(mailboxId, healthy);
      const first = added(mailboxId, 1);
      const second = added(mailboxId, 2);
      await expect(bus.dispatch(first)).resolves.toBeUndefined();
      await bus.dispatch(second);
      await eventually(() => healthy.events.length === 2, 'both events');
      expect(healthy.events).toEqual([first, second]);
    });

    it('accepts an event nobody listens to', async () => {
      await expect(bus.dispatch(added(randomUUID()))).resolves.toBeUndefined();
    });

    const acrossNodes = 'delivers an event dispatched on another node to the key listener of this node';
    if (!options.spansNodes) {
      it.skip(`${acrossNodes} (not applicable: single-node adapter)`, () => undefined);
      return;
    }
    it(acrossNodes, async () => {
      if (!testee.otherNode) throw new Error('an adapter spanning nodes must provide otherNode');
      const mailboxId = randomUUID();
      const listener = new Recorder();
      await bus.registerMailboxListener(mailboxId, listener);
      const event = added(mailboxId);
      await testee.otherNode.dispatch(event);
      await eventually(() => listener.has(event.eventId), 'the event from the other node');
      expect(listener.events).toEqual([event]);
    });
  });
}
