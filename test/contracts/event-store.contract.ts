import { EventStoreConflictError, EventStoreValidationError, MAX_EVENTS_PER_APPEND, type EventStore } from '../../src/eventsourcing/api/event-store';

export interface EventStoreTestee {
  events: EventStore;
  cleanup(): Promise<void>;
}

/** The EventStore port's behaviour, run against every adapter (James' EventStoreContract). */
export function describeEventStoreContract(name: string, makeTestee: () => Promise<EventStoreTestee>): void {
  describe(`EventStore contract: ${name}`, () => {
    let testee: EventStoreTestee;
    let events: EventStore;
    const ev = (eventId: number, aggregateId = 'agg-1', payload: unknown = { n: eventId }) => ({ aggregateId, eventId, type: 'Tested', payload: payload as never });

    beforeEach(async () => {
      testee = await makeTestee();
      events = testee.events;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('returns an empty history for an unknown aggregate', async () => {
      expect(await events.getHistory('nobody')).toEqual([]);
    });

    it('returns appended events in id order with their payloads', async () => {
      await events.append([ev(0), ev(1, 'agg-1', { nested: { list: [1, 'two', null] } })]);
      await events.append([ev(2)]);
      expect(await events.getHistory('agg-1')).toEqual([ev(0), ev(1, 'agg-1', { nested: { list: [1, 'two', null] } }), ev(2)]);
      expect(await events.getHistory('agg-2')).toEqual([]);
    });

    it('refuses an event id that is taken, writing none of the batch', async () => {
      await events.append([ev(0)]);
      await expect(events.append([ev(0, 'agg-1', { other: true })])).rejects.toBeInstanceOf(EventStoreConflictError);
      await expect(events.append([ev(1), ev(0)])).rejects.toBeInstanceOf(EventStoreValidationError);
      expect(await events.getHistory('agg-1')).toEqual([ev(0)]);
    });

    it('lets exactly one of two concurrent writers of the same id win', async () => {
      const results = await Promise.allSettled([events.append([ev(0, 'agg-1', { writer: 'a' })]), events.append([ev(0, 'agg-1', { writer: 'b' })])]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected?.reason).toBeInstanceOf(EventStoreConflictError);
      expect(await events.getHistory('agg-1')).toHaveLength(1);
    });

    it('refuses malformed appends: mixed aggregates, gaps, negative ids, too many events', async () => {
      await expect(events.append([ev(0, 'a'), ev(1, 'b')])).rejects.toBeInstanceOf(EventStoreValidationError);
      await expect(events.append([ev(0), ev(2)])).rejects.toBeInstanceOf(EventStoreValidationError);
      await expect(events.append([ev(-1)])).rejects.toBeInstanceOf(EventStoreValidationError);
      await expect(events.append([ev(0, '')])).rejects.toBeInstanceOf(EventStoreValidationError);
      await expect(events.append(Array.from({ length: MAX_EVENTS_PER_APPEND + 1 }, (_, i) => ev(i)))).rejects.toBeInstanceOf(EventStoreValidationError);
      await expect(events.append([])).resolves.toBeUndefined();
      expect(await events.getHistory('agg-1')).toEqual([]);
    });

    it('removes the history of one aggregate only', async () => {
      await events.append([ev(0, 'agg-1')]);
      await events.append([ev(0, 'agg-2')]);
      await events.remove('agg-1');
      expect(await events.getHistory('agg-1')).toEqual([]);
      expect(await events.getHistory('agg-2')).toHaveLength(1);
    });
  });
}
