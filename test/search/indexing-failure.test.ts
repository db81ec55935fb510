import net from 'node:net';
import { deserializeEvent } from '../../src/events/event-json';
import { OpenSearchSearchIndex } from '../../src/search/opensearch/opensearch-search-index';
import { SEARCH_INDEXER_GROUP, SearchIndexer } from '../../src/search/search-indexer';
import { newRunId } from '../helpers/engines';
import { OPENSEARCH_URL, eventually, logger, mail, searchStack, type SearchStack } from './fixture';

/** A loopback port that refuses connections (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('indexing while OpenSearch is unreachable', () => {
  let stack: SearchStack;
  let good: OpenSearchSearchIndex;
  const prefix = `postflow-test-${newRunId()}-`;

  beforeEach(async () => {
    const down = OpenSearchSearchIndex.lazy({ url: `http://127.0.0.1:${await closedPort()}`, indexPrefix: prefix, requestTimeoutMs: 2_000 });
    stack = await searchStack({ index: down, retry: { maxRetries: 2, firstBackoffMs: 20 } });
    good = await OpenSearchSearchIndex.open({ url: OPENSEARCH_URL, indexPrefix: prefix });
  });

  afterEach(async () => {
    await stack?.cleanup();
    await good?.dropIndex();
    await good?.close();
  });

  it('still delivers; the events go to retries then dead letters; after redelivery to a working index the message is searchable', async () => {
    const inbox = await stack.backends.mailboxes.ensureMailbox('alice@example.com', 'INBOX');
    const message = await stack.deliver(inbox.id, mail('Outage report', 'the indexer was down'));
    // Delivery succeeded: the message is in the mailbox.
    expect(await stack.backends.mailboxes.listUids(inbox.id)).toEqual([message.uid]);

    const deadLetters = stack.backends.deadLetters;
    await eventually(async () => (await deadLetters.listInsertionIds(SEARCH_INDEXER_GROUP)).length > 0);
    const ids = await deadLetters.listInsertionIds(SEARCH_INDEXER_GROUP);
    const events = await Promise.all(ids.map(async (id) => deserializeEvent((await deadLetters.get(SEARCH_INDEXER_GROUP, id)) as string)));
    expect(events.map((e) => e.type)).toContain('Added');

    // The operator points the node back at a working OpenSearch, then redelivers the dead letters.
    await stack.stopIndexer();
    const indexer = new SearchIndexer({ index: good, mailboxes: stack.backends.mailboxes, logger });
    const registration = await stack.backends.events.registerGroupListener(indexer);
    try {
      for (const [i, event] of events.entries()) {
        await stack.backends.events.reDeliver(SEARCH_INDEXER_GROUP, event);
        await deadLetters.remove(SEARCH_INDEXER_GROUP, ids[i]);
      }
      await eventually(async () => {
        await good.refresh();
        return (await good.count(inbox.id)) === 1;
      });
      const hits = await good.search({ mailboxIds: [inbox.id], criterion: { type: 'body', value: 'indexer was down' } });
      expect(hits.map((h) => h.uid)).toEqual([message.uid]);
      expect(await deadLetters.listInsertionIds(SEARCH_INDEXER_GROUP)).toEqual([]);
    } finally {
      await registration.unregister();
    }
  });
});
