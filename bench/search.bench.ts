/**
 * Search adapters side by side (SQLite FTS5, OpenSearch):
 * 1. bulk indexing throughput: `--docs` generated documents written straight through the
 *    adapter's bulk `index` API (batches of 1,000), not through the mailbox store, so a
 *    100,000-message corpus is built in minutes;
 * 2. search latency p50/p95 over that corpus (one mailbox) for a word query (BODY) and a header
 *    query (HEADER X-Ticket), `--queries` each;
 * 3. indexing throughput of the search-indexer listener on `--listener` messages stored in the
 *    embedded mailbox store: their Added events handled 32 at once (a RabbitMQ group's prefetch),
 *    each reading the stored parsed data and writing through the adapter.
 * Usage: npm run bench:search [-- --docs 100000 --queries 200 --listener 1000]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pino from 'pino';
import { MAIL_BUCKET } from '../src/blob/api/blob-store';
import type { IndexedMessage, SearchIndex } from '../src/search/api/search-index';
import { OpenSearchSearchIndex } from '../src/search/opensearch/opensearch-search-index';
import { SqliteSearchIndex } from '../src/search/sqlite-fts/sqlite-search-index';
import { SearchIndexer } from '../src/search/search-indexer';
import type { MailboxEvent } from '../src/events/api/event-bus';
import { createEmbeddedBackends } from '../src/storage/embedded';
import { migrate } from '../src/storage/sqlite/schema';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const DOCS = arg('docs', 100_000);
const QUERIES = arg('queries', 200);
const LISTENER = arg('listener', 1_000);
const BATCH = 1_000;
const OPENSEARCH_URL = process.env.POSTFLOW_OPENSEARCH_URL ?? 'http://127.0.0.1:9200';
const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function doc(mailboxId: string, uid: number): IndexedMessage {
  const words = Array.from({ length: 60 }, (_, i) => WORDS[(uid * 7 + i * 13) % WORDS.length]);
  words.push(`tok${uid % 5000}end`);
  return {
    mailboxId, uid, owner: 'bench@example.com', messageId: randomUUID(), threadId: randomUUID(), modSeq: uid, size: 2000 + (uid % 1000),
    internalDate: 1_700_000_000_000 + uid * 1000, sentDate: 1_700_000_000_000 + uid * 1000, flags: uid % 3 === 0 ? ['\\Seen'] : [], hasAttachment: uid % 10 === 0,
    subject: `Report ${uid % 997} ${WORDS[uid % WORDS.length]}`, from: `Sender ${uid % 50} <sender${uid % 50}@example.org>`, to: 'Bench <bench@example.com>', cc: '', bcc: '',
    headers: [['from', `sender${uid % 50}@example.org`], ['subject', `Report ${uid % 997}`], ['x-ticket', `PF-${uid % 2000}`]],
    body: words.join(' '), attachmentNames: uid % 10 === 0 ? [`file${uid}.pdf`] : [], attachmentText: '',
    sortSubject: `report ${uid % 997}`, sortFrom: `sender${uid % 50}`, sortTo: 'bench', sortCc: '', sortDisplayFrom: `sender ${uid % 50}`, sortDisplayTo: 'bench',
  };
}

async function corpus(name: string, index: SearchIndex): Promise<string[]> {
  const mailboxId = randomUUID();
  const start = performance.now();
  for (let uid = 1; uid <= DOCS; uid += BATCH) {
    const batch: IndexedMessage[] = [];
    for (let u = uid; u < uid + BATCH && u <= DOCS; u++) batch.push(doc(mailboxId, u));
    await index.index(batch);
  }
  await index.refresh();
  const seconds = (performance.now() - start) / 1000;
  const lines = [`${name}: bulk-indexed ${DOCS} documents in ${seconds.toFixed(1)} s = ${(DOCS / seconds).toFixed(0)} docs/s`];
  for (const [label, make] of [
    ['word query (BODY tokNend)', (i: number) => ({ type: 'body' as const, value: `tok${(i * 37) % 5000}end` })],
    ['header query (HEADER X-Ticket PF-N)', (i: number) => ({ type: 'header' as const, field: 'x-ticket', value: `PF-${(i * 53) % 2000}` })],
  ] as const) {
    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      hits += (await index.search({ mailboxIds: [mailboxId], criterion: make(i) })).length;
      times.push(performance.now() - t);
    }
    lines.push(`${name}: ${label} over ${DOCS} docs: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms (${(hits / QUERIES).toFixed(0)} hits/query)`);
  }
  return lines;
}

/** Events of one group a RabbitMQ node handles at once (GROUP_PREFETCH): the listener's concurrency here. */
const LISTENER_CONCURRENCY = 32;

async function listenerPath(name: string, makeIndex: (() => Promise<SearchIndex>) | null): Promise<string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-search-bench-'));
  const logger = pino({ level: 'silent' });
  const backends = await createEmbeddedBackends({ dataDir, logger });
  const index = makeIndex ? await makeIndex() : (backends.search as SearchIndex);
  const indexer = new SearchIndexer({ index, mailboxes: backends.mailboxes, logger });
  try {
    // The messages are stored first (no listener registered), then their Added events are handled
    // by the indexer with the concurrency a RabbitMQ group consumer has: what is timed is the
    // listener's work (read stored parsed data, build documents, write them), not the appends.
    const inbox = await backends.mailboxes.ensureMailbox('bench@example.com', 'INBOX');
    const events: MailboxEvent[] = [];
    for (let i = 0; i < LISTENER; i++) {
      const raw = `From: Sender <s${i}@example.org>\r\nTo: bench@example.com\r\nSubject: message ${i}\r\nX-Ticket: PF-${i}\r\n\r\n${Array.from({ length: 60 }, (_, j) => WORDS[(i + j) % WORDS.length]).join(' ')}\r\n`;
      const blob = await backends.blobs.put(MAIL_BUCKET, Buffer.from(raw));
      const message = await backends.mailboxes.appendMessage(inbox.id, { blobId: blob.blobId, size: blob.size, internalDate: new Date() });
      events.push({ type: 'Added', eventId: randomUUID(), user: 'bench@example.com', mailboxId: inbox.id, uids: [message.uid], modSeq: message.modSeq });
    }
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: LISTENER_CONCURRENCY }, async () => {
        while (next < events.length) await indexer.handle(events[next++]);
      }),
    );
    await index.refresh();
    const seconds = (performance.now() - start) / 1000;
    const count = await index.count(inbox.id);
    if (count !== LISTENER) throw new Error(`${name}: ${count} of ${LISTENER} messages indexed`);
    return `${name}: ${LISTENER} Added events handled by the search-indexer listener (${LISTENER_CONCURRENCY} at once) in ${seconds.toFixed(1)} s = ${(LISTENER / seconds).toFixed(0)} msgs/s`;
  } finally {
    if (makeIndex) {
      await (index as OpenSearchSearchIndex).dropIndex();
      await index.close();
    }
    await backends.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-search-bench-'));
  const db = new Database(path.join(dir, 'bench.db'));
  migrate(db);
  db.pragma('synchronous = NORMAL');
  try {
    lines.push(...(await corpus('SQLite FTS5', new SqliteSearchIndex(db))));
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const os = await OpenSearchSearchIndex.open({ url: OPENSEARCH_URL, indexPrefix: `postflow-bench-${randomUUID().slice(0, 8)}-` });
  try {
    lines.push(...(await corpus('OpenSearch', os)));
  } finally {
    await os.dropIndex();
    await os.close();
  }
  lines.push(await listenerPath('SQLite FTS5', null));
  lines.push(await listenerPath('OpenSearch', () => OpenSearchSearchIndex.open({ url: OPENSEARCH_URL, indexPrefix: `postflow-bench-${randomUUID().slice(0, 8)}-` })));
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
