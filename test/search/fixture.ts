import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { MessageMetadata } from '../../src/mailbox/api/mailbox-store';
import type { SearchIndex } from '../../src/search/api/search-index';
import { startSearchIndexing } from '../../src/search/start-search-indexing';
import type { SearchIndexer } from '../../src/search/search-indexer';
import type { Backends } from '../../src/storage/backends';
import { createEmbeddedBackends } from '../../src/storage/embedded';

export const logger = pino({ level: 'silent' });

/** The OpenSearch node of scripts/engines.sh (POSTFLOW_OPENSEARCH_URL redirects it). */
export const OPENSEARCH_URL = process.env.POSTFLOW_OPENSEARCH_URL ?? 'http://127.0.0.1:9200';

export interface SearchStack {
  backends: Backends;
  index: SearchIndex;
  indexer: SearchIndexer;
  /** Unregisters the indexer (a test may register another one for the group). */
  stopIndexer(): Promise<void>;
  dataDir: string;
  deliver(mailboxId: string, raw: string, flags?: string[]): Promise<MessageMetadata>;
  cleanup(): Promise<void>;
}

/**
 * Embedded backends (SQLite, files, in-process bus) in a temporary folder, with a
 * `search-indexer` group listener writing to `index` (the profile's SQLite FTS5 by default).
 */
export async function searchStack(options: { index?: SearchIndex; retry?: { maxRetries: number; firstBackoffMs: number } } = {}): Promise<SearchStack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-search-'));
  const backends = await createEmbeddedBackends({ dataDir, logger, eventRetry: options.retry ?? { maxRetries: 1, firstBackoffMs: 10 } });
  const index = options.index ?? (backends.search as SearchIndex);
  const { indexer, registration } = await startSearchIndexing({ index, events: backends.events, mailboxes: backends.mailboxes, blobs: backends.blobs, tikaUrl: '', logger });
  let stopped = false;
  return {
    backends,
    index,
    indexer,
    stopIndexer: async () => {
      if (stopped) return;
      stopped = true;
      await registration.unregister();
    },
    dataDir,
    async deliver(mailboxId, raw, flags = []) {
      const blob = await backends.blobs.put(MAIL_BUCKET, Buffer.from(raw.replace(/\r?\n/g, '\r\n')));
      return backends.mailboxes.appendMessage(mailboxId, { blobId: blob.blobId, size: blob.size, internalDate: new Date('2024-05-01T10:00:00Z'), flags });
    },
    async cleanup() {
      if (!stopped) await registration.unregister();
      stopped = true;
      await backends.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` holds (indexing is asynchronous), failing after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function mail(subject: string, body: string, extra = ''): string {
  return `From: Bob <bob@example.org>\nTo: alice@example.com\nSubject: ${subject}\nDate: Wed, 01 May 2024 09:00:00 +0000\nMessage-ID: <${Math.random().toString(36).slice(2)}@example.org>\n${extra}\n${body}\n`;
}
