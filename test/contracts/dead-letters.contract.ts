import { randomUUID } from 'node:crypto';
import type { EventDeadLetters } from '../../src/events/api/event-dead-letters';
import { INSERTION_ID } from '../../src/events/api/event-dead-letters';

export interface DeadLettersTestee {
  /** An empty store. */
  deadLetters: EventDeadLetters;
  cleanup(): Promise<void>;
}

function eventJson(): string {
  return JSON.stringify({ version: 1, type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId: randomUUID(), uids: [1], modSeq: 1 });
}

/** The EventDeadLetters port's behaviour, run against every adapter. */
export function describeDeadLettersContract(name: string, makeTestee: () => Promise<DeadLettersTestee>): void {
  describe(`EventDeadLetters contract: ${name}`, () => {
    let testee: DeadLettersTestee;
    let store: EventDeadLetters;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.deadLetters;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('keeps a stored event, byte for byte, under a new UUID insertion id', async () => {
      const json = eventJson();
      const id = await store.store('indexing', json);
      expect(id).toMatch(INSERTION_ID);
      expect(await store.get('indexing', id)).toBe(json);
      expect(await store.listInsertionIds('indexing')).toEqual([id]);
    });

    it('keeps text that is not JSON (a poison message) as it came', async () => {
      const id = await store.store('indexing', '{not json');
      expect(await store.get('indexing', id)).toBe('{not json');
    });

    it('gives each stored event its own insertion id, even the same event twice', async () => {
      const json = eventJson();
      const first = await store.store('indexing', json);
      const second = await store.store('indexing', json);
      expect(first).not.toBe(second);
      expect((await store.listInsertionIds('indexing')).sort()).toEqual([first, second].sort());
    });

    it('keeps the dead letters of each group apart', async () => {
      const a = await store.store('group-a', eventJson());
      const b = await store.store('group-b', eventJson());
      expect(await store.listInsertionIds('group-a')).toEqual([a]);
      expect(await store.get('group-a', b)).toBeNull();
      expect(await store.listGroups()).toEqual(['group-a', 'group-b']);
    });

    it('answers null for an unknown insertion id and an empty list for an unknown group', async () => {
      expect(await store.get('indexing', randomUUID())).toBeNull();
      expect(await store.listInsertionIds('nobody')).toEqual([]);
      expect(await store.listGroups()).toEqual([]);
    });

    it('removes one dead letter, and the group is no longer listed once it has none', async () => {
      const first = await store.store('indexing', eventJson());
      const second = await store.store('indexing', eventJson());
      await store.remove('indexing', first);
      expect(await store.get('indexing', first)).toBeNull();
      expect(await store.listInsertionIds('indexing')).toEqual([second]);
      expect(await store.listGroups()).toEqual(['indexing']);
      await store.remove('indexing', second);
      expect(await store.listGroups()).toEqual([]);
    });

    it('accepts removing a dead letter that does not exist', async () => {
      await expect(store.remove('indexing', randomUUID())).resolves.toBeUndefined();
    });
  });
}
