import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../../src/core/errors';
import type { EventBus, EventListener, GroupListener, MailboxEvent } from '../../src/events/api/event-bus';
import type { EventDeadLetters } from '../../src/events/api/event-dead-letters';
import { deserializeEvent } from '../../src/events/event-json';
import type { RetryPolicy } from '../../src/events/retry-policy';

/** Retry policy the testees are built with: 3 retries (20, 40, 80 ms), so failures resolve fast. */
export const CONTRACT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, firstBackoffMs: 20 };

export interface EventBusTestee {
  /** Built with CONTRACT_RETRY_POLICY and `deadLetters`. */
  bus: EventBus;
  /** A second node on the same backend; required when the adapter spans nodes. */
  otherNode?: EventBus;
  /** The dead letters the bus stores failed group events in. */
  deadLetters: EventDeadLetters;
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

/** A group listener that records what it handled and fails its first `failures` attempts of each event. */
class GroupRecorder extends Recorder implements GroupListener {
  readonly attempts = new Map<string, number>();
  constructor(
    readonly group: string = `contract-${randomUUID()}`,
    private failures = 0,
  ) {
    super();
  }
  override async handle(event: MailboxEvent): Promise<void> {
    const attempt = (this.attempts.get(event.eventId) ?? 0) + 1;
    this.attempts.set(event.eventId, attempt);
    if (attempt <= this.failures) throw new Error(`failure ${attempt} of ${this.failures}`);
    await super.handle(event);
  }
  /** From now on, every attempt fails (`Infinity`) or none does (0). */
  failAlways(yes: boolean): void {
    this.failures = yes ? Infinity : 0;
  }
}

function added(mailboxId: string, uid = 1): MailboxEvent {
  return { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId, uids: [uid], modSeq: uid };
}

async function eventuallyAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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

    describe('group listeners', () => {
      it('delivers every event to a group listener, whatever its mailbox', async () => {
        const listener = new GroupRecorder();
        await bus.registerGroupListener(listener);
        const events = [added(randomUUID()), added(randomUUID()), added(randomUUID())];
        for (const event of events) await bus.dispatch(event);
        await eventually(() => events.every((e) => listener.has(e.eventId)), 'the three events');
        expect(listener.events).toHaveLength(3);
      });

      it('delivers each event to every group', async () => {
        const indexing = new GroupRecorder();
        const quota = new GroupRecorder();
        await bus.registerGroupListener(indexing);
        await bus.registerGroupListener(quota);
        const event = added(randomUUID());
        await bus.dispatch(event);
        await eventually(() => indexing.has(event.eventId) && quota.has(event.eventId), 'delivery to both groups');
      });

      it('retries a listener that fails 3 times, which then handles the event, and stores no dead letter', async () => {
        const flaky = new GroupRecorder(undefined, 3);
        await bus.registerGroupListener(flaky);
        const event = added(randomUUID());
        await bus.dispatch(event);
        await eventually(() => flaky.has(event.eventId), 'the fourth attempt');
        expect(flaky.attempts.get(event.eventId)).toBe(4);
        expect(flaky.events).toEqual([event]);
        expect(await testee.deadLetters.listInsertionIds(flaky.group)).toEqual([]);
      });

      it('stores the event in the dead letters of its group after the last retry, while the other groups handle it', async () => {
        const broken = new GroupRecorder(undefined, Infinity);
        const healthy = new GroupRecorder();
        await bus.registerGroupListener(broken);
        await bus.registerGroupListener(healthy);
        const event = added(randomUUID());
        await bus.dispatch(event);
        await eventually(() => healthy.has(event.eventId), 'the healthy group');
        let ids: string[] = [];
        await eventuallyAsync(async () => (ids = await testee.deadLetters.listInsertionIds(broken.group)).length > 0, 'a dead letter');
        expect(ids).toHaveLength(1);
        expect(JSON.parse((await testee.deadLetters.get(broken.group, ids[0])) ?? 'null')).toEqual({ version: 1, ...event });
        expect(broken.attempts.get(event.eventId)).toBe(CONTRACT_RETRY_POLICY.maxRetries + 1);
        expect(await testee.deadLetters.listInsertionIds(healthy.group)).toEqual([]);
      });

      it('redelivers an event to one group only', async () => {
        const target = new GroupRecorder();
        const bystander = new GroupRecorder();
        await bus.registerGroupListener(target);
        await bus.registerGroupListener(bystander);
        const event = added(randomUUID());
        await bus.reDeliver(target.group, event);
        const sentinel = added(randomUUID());
        await bus.dispatch(sentinel);
        await eventually(() => target.has(event.eventId) && target.has(sentinel.eventId) && bystander.has(sentinel.eventId), 'the redelivery and the sentinel');
        expect(bystander.events).toEqual([sentinel]);
      });

      it('stops handling the events of a group on this node once it unregisters', async () => {
        const leaving = new GroupRecorder();
        const witness = new GroupRecorder();
        const registration = await bus.registerGroupListener(leaving);
        await bus.registerGroupListener(witness);
        await registration.unregister();
        const event = added(randomUUID());
        await bus.dispatch(event);
        await eventually(() => witness.has(event.eventId), 'the witness group');
        expect(leaving.events).toEqual([]);
      });

      it('refuses to redeliver to a group that no listener ever registered', async () => {
        await expect(bus.reDeliver(`contract-${randomUUID()}`, added(randomUUID()))).rejects.toThrow(NotFoundError);
      });

      it('refuses a second listener of one group on one node', async () => {
        const group = `contract-${randomUUID()}`;
        await bus.registerGroupListener(new GroupRecorder(group));
        await expect(bus.registerGroupListener(new GroupRecorder(group))).rejects.toThrow(AlreadyExistsError);
      });

      it('refuses a group name that cannot name a queue', async () => {
        await expect(bus.registerGroupListener(new GroupRecorder('no spaces/or slashes'))).rejects.toThrow(InvalidInputError);
      });

      it('hands a fixed listener the event that was in dead letters, once redelivered', async () => {
        const listener = new GroupRecorder(undefined, Infinity);
        await bus.registerGroupListener(listener);
        const event = added(randomUUID());
        await bus.dispatch(event);
        let ids: string[] = [];
        await eventuallyAsync(async () => (ids = await testee.deadLetters.listInsertionIds(listener.group)).length > 0, 'a dead letter');
        listener.failAlways(false);
        await bus.reDeliver(listener.group, deserializeEvent((await testee.deadLetters.get(listener.group, ids[0])) as string));
        await eventually(() => listener.has(event.eventId), 'the redelivered event');
      });
    });

    const acrossNodes = 'delivers an event dispatched on another node to the key listener of this node';
    const onceAcrossNodes = 'handles each event once per group when the group listens on two nodes';
    if (!options.spansNodes) {
      it.skip(`${acrossNodes} (not applicable: single-node adapter)`, () => undefined);
      it.skip(`${onceAcrossNodes} (not applicable: single-node adapter)`, () => undefined);
      return;
    }
    it(onceAcrossNodes, async () => {
      if (!testee.otherNode) throw new Error('an adapter spanning nodes must provide otherNode');
      const group = `contract-${randomUUID()}`;
      const here = new GroupRecorder(group);
      const there = new GroupRecorder(group);
      await bus.registerGroupListener(here);
      await testee.otherNode.registerGroupListener(there);
      const events = Array.from({ length: 40 }, () => added(randomUUID()));
      await Promise.all(events.map((event, i) => (i % 2 === 0 ? bus : (testee.otherNode as EventBus)).dispatch(event)));
      const handled = () => [...here.events, ...there.events];
      await eventually(() => events.every((e) => handled().some((h) => h.eventId === e.eventId)), 'every event');
      // A duplicate would come within a broker round trip of the last delivery.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(handled()).toHaveLength(events.length);
    });

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
