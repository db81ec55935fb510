import { createReindexActivities } from '../../activities/reindex-activities';
import type { IndexedMessage, SearchIndex } from '../../src/search/api/search-index';
import { SearchIndexer } from '../../src/search/search-indexer';
import { eventually, logger, mail, searchStack, type SearchStack } from './fixture';

const USER = 'alice@example.com';

/** The real SQLite index, refusing documents whose body says "poison" (a message the engine rejects). */
function refusingPoison(index: SearchIndex): SearchIndex {
  return new Proxy(index, {
    get(target, property, receiver) {
      if (property === 'index') {
        return async (docs: readonly IndexedMessage[]) => {
          if (docs.some((d) => d.body.includes('poison'))) throw new Error('document rejected');
          return target.index(docs);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('reindexing steps', () => {
  let stack: SearchStack;

  beforeEach(async () => {
    stack = await searchStack();
  });

  afterEach(async () => {
    await stack?.cleanup();
  });

  it('pages through a mailbox by UID, indexing each page and reporting the messages that failed alone', async () => {
    const inbox = await stack.backends.mailboxes.ensureMailbox(USER, 'INBOX');
    for (const body of ['one', 'poison two', 'three', 'four', 'five']) await stack.deliver(inbox.id, mail(body, body));
    await eventually(async () => (await stack.index.count(inbox.id)) === 5);
    await stack.index.deleteMailbox(inbox.id);
    const activities = createReindexActivities({
      mailboxes: stack.backends.mailboxes,
      users: stack.backends.users,
      index: stack.index,
      indexer: new SearchIndexer({ index: refusingPoison(stack.index), mailboxes: stack.backends.mailboxes, logger }),
    });
    expect(await activities.reindexMailboxPage(USER, inbox.id, 0, 3)).toEqual({ indexed: 2, failed: [2], lastUid: 3 });
    expect(await activities.reindexMailboxPage(USER, inbox.id, 3, 3)).toEqual({ indexed: 2, failed: [], lastUid: 5 });
    expect(await activities.reindexMailboxPage(USER, inbox.id, 5, 3)).toEqual({ indexed: 0, failed: [], lastUid: null });
    expect(await stack.index.indexedUids(inbox.id, [1, 2, 3, 4, 5])).toEqual([1, 3, 4, 5]);
    expect(await activities.reindexMessages(inbox.id, [2])).toEqual({ indexed: 0, failed: [2] });
    expect(await activities.reindexMessages('no-such-mailbox', [1])).toEqual({ indexed: 0, failed: [] });
    expect(await activities.mailboxOwner(inbox.id)).toBe(USER);
    expect(await activities.mailboxOwner('no-such-mailbox')).toBeNull();
  });

  it('lists users page by page after a cursor', async () => {
    for (const name of ['a@example.com', 'b@example.com', 'c@example.com']) await stack.backends.users.upsertUser({ username: name, passwordHash: 'x', disabled: false });
    const activities = createReindexActivities({ mailboxes: stack.backends.mailboxes, users: stack.backends.users, index: stack.index, indexer: stack.indexer });
    expect(await activities.listUsers(null, 2)).toEqual(['a@example.com', 'b@example.com']);
    expect(await activities.listUsers('b@example.com', 2)).toEqual(['c@example.com']);
    expect(await activities.listUsers('c@example.com', 2)).toEqual([]);
  });
});
