import type { Logger } from 'pino';
import type { BlobStore } from '../blob/api/blob-store';
import type { EventBus, Registration } from '../events/api/event-bus';
import type { MailboxManager } from '../mailbox/api/mailbox-manager';
import type { SearchIndex } from './api/search-index';
import { SearchIndexer } from './search-indexer';
import { TikaExtractor } from './tika-extractor';

/** Registers this node's share of the `search-indexer` group. */
export async function startSearchIndexing(deps: {
  index: SearchIndex;
  events: EventBus;
  mailboxes: MailboxManager;
  blobs: BlobStore;
  tikaUrl: string;
  logger: Logger;
}): Promise<{ indexer: SearchIndexer; registration: Registration }> {
  const indexer = new SearchIndexer({
    index: deps.index,
    mailboxes: deps.mailboxes,
    logger: deps.logger,
    attachments: deps.tikaUrl ? new TikaExtractor(deps.tikaUrl, deps.blobs) : undefined,
  });
  const registration = await deps.events.registerGroupListener(indexer);
  return { indexer, registration };
}
