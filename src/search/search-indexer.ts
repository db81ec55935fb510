import type { Logger } from 'pino';
import type { GroupListener, MailboxEvent } from '../events/api/event-bus';
import { NotFoundError } from '../core/errors';
import type { MailboxManager } from '../mailbox/api/mailbox-manager';
import type { MessageRecord, UidRange } from '../mailbox/api/mailbox-store';
import type { MessageSummary } from '../mime/parsed-message';
import { decodeWords, parseHeaderBlock } from '../mime/headers';
import type { IndexedMessage, SearchIndex } from './api/search-index';
import { buildDocument, MAX_INDEXED_HEADER_VALUE, MAX_INDEXED_HEADERS, type MessageContent } from './message-document';

/** Name of the indexing group (its durable queue and dead letters). */
export const SEARCH_INDEXER_GROUP = 'search-indexer';
/** Messages read from the mailbox store and written to the index in one batch. */
export const INDEXING_BATCH = 100;

/** Search texts kept by content (blob id) for the copies that follow the first one. */
export const SEARCH_TEXT_CACHE_ENTRIES = 256;
/** Characters of search text kept at most (bounds the cache's memory, ~2 bytes a character). */
export const SEARCH_TEXT_CACHE_CHARS = 4 * 1024 * 1024;

/**
 * The search text of recently indexed contents, by blob id. A blob never changes, and the copies
 * of one delivered mail (one per recipient) share it: the text the first copy read is the text of
 * every copy (the index keys its content document by the same blob id), so the next copies skip
 * reading it back from the mailbox store. Bounded LRU; a text longer than the whole budget is not kept.
 */
export class SearchTextCache {
  private readonly entries = new Map<string, string>();
  /** Reads under way, by blob id: the copies of one delivery are indexed at once and share one. */
  private readonly reading = new Map<string, Promise<string | null>>();
  private chars = 0;

  constructor(
    private readonly maxEntries = SEARCH_TEXT_CACHE_ENTRIES,
    private readonly maxChars = SEARCH_TEXT_CACHE_CHARS,
  ) {}

  /**
   * The text of `blobId`: remembered, or read by `read` — once for the copies asking at the same
   * time (the events of one delivery arrive together). A read that finds nothing (that copy was
   * expunged) or fails is not shared: each copy waiting on it then reads its own.
   */
  async textOf(blobId: string, read: () => Promise<string | null>): Promise<string | null> {
    const known = this.get(blobId);
    if (known !== undefined) return known;
    const pending = this.reading.get(blobId);
    if (pending) {
      const shared = await pending.catch(() => null);
      if (shared !== null) return shared;
      return this.remember(blobId, await read());
    }
    const own = read().then((text) => this.remember(blobId, text));
    this.reading.set(blobId, own);
    try {
      return await own;
    } finally {
      if (this.reading.get(blobId) === own) this.reading.delete(blobId);
    }
  }

  private remember(blobId: string, text: string | null): string | null {
    if (text !== null) this.set(blobId, text);
    return text;
  }

  get(blobId: string): string | undefined {
    const text = this.entries.get(blobId);
    if (text === undefined) return undefined;
    this.entries.delete(blobId);
    this.entries.set(blobId, text);
    return text;
  }

  set(blobId: string, text: string): void {
    if (text.length > this.maxChars) return;
    const old = this.entries.get(blobId);
    if (old !== undefined) {
      this.entries.delete(blobId);
      this.chars -= old.length;
    }
    this.entries.set(blobId, text);
    this.chars += text.length;
    for (const [key, value] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(key);
      this.chars -= value.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A message with its stored parsed data, ready to be indexed. */
export interface IndexableMessage {
  record: MessageRecord;
  content: MessageContent;
}

/** Extracts attachment text (Tika); absent: attachments are indexed by name only. */
export interface AttachmentTextExtractor {
  extract(owner: string, record: MessageRecord, summary: MessageSummary): Promise<string>;
}

/**
 * Reads messages with their stored parsed data through the mailbox manager, as their owner (who
 * has every right): headers and summary in one pass, the search text by MessageId. The blob is
 * never read nor parsed again.
 */
export async function loadIndexable(manager: MailboxManager, owner: string, mailboxId: string, ranges: readonly UidRange[], texts?: SearchTextCache): Promise<IndexableMessage[]> {
  const out: IndexableMessage[] = [];
  try {
    for await (const message of manager.getMessages(owner, mailboxId, ranges, 'headers')) {
      if (!message.headers || !message.parsed) continue;
      const read = (): Promise<string | null> => manager.getSearchText(owner, message.messageId);
      const text = texts ? await texts.textOf(message.blobId, read) : await read();
      // Expunged since it was listed: nothing to index (its Expunged event follows). Indexing it
      // without text would give the content document it shares with other copies an empty body.
      if (text === null) continue;
      out.push({ record: message, content: { headers: message.headers, summary: message.parsed, text } });
    }
  } catch (err) {
    // The mailbox went away meanwhile: nothing left to index (its MailboxDeleted cleans the index).
    if (err instanceof NotFoundError) return out;
    throw err;
  }
  return out;
}

/** UIDs as the fewest ranges. */
export function uidRanges(uids: readonly number[]): UidRange[] {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const ranges: UidRange[] = [];
  for (const uid of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && uid === last.to + 1) last.to = uid;
    else ranges.push({ from: uid, to: uid });
  }
  return ranges;
}

/**
 * The indexing group listener (James' `ListeningMessageSearchIndex`): Added indexes the new
 * messages from their stored parsed data, FlagsUpdated updates flags, Expunged and MailboxDeleted
 * remove documents. Every write is idempotent; a failing write throws so the event bus retries
 * the event and finally dead-letters it (WebAdmin redelivers it, or a reindex repairs the gap).
 */
export class SearchIndexer implements GroupListener {
  readonly group = SEARCH_INDEXER_GROUP;
  private readonly texts = new SearchTextCache();

  constructor(
    private readonly deps: {
      index: SearchIndex;
      mailboxes: MailboxManager;
      logger: Logger;
      attachments?: AttachmentTextExtractor;
    },
  ) {}

  async handle(event: MailboxEvent): Promise<void> {
    const { index } = this.deps;
    switch (event.type) {
      case 'Added':
        await this.indexMessages(event.user, event.mailboxId, event.uids);
        return;
      case 'Expunged':
        await index.delete(event.mailboxId, event.uids);
        return;
      case 'FlagsUpdated':
        if (event.updates) {
          await index.updateFlags(
            event.mailboxId,
            event.updates.map((u) => ({ uid: u.uid, modSeq: event.modSeq, flags: u.newFlags })),
          );
        } else {
          await this.indexMessages(event.user, event.mailboxId, event.uids);
        }
        return;
      case 'MailboxDeleted':
        await index.deleteMailbox(event.mailboxId);
        return;
      default:
        return;
    }
  }

  /** Indexes these messages of a mailbox (those still there), batch by batch. Returns how many. */
  async indexMessages(owner: string, mailboxId: string, uids: readonly number[]): Promise<number> {
    let done = 0;
    const ranges = uidRanges(uids);
    for (let i = 0; i < ranges.length; i += INDEXING_BATCH) {
      const messages = await loadIndexable(this.deps.mailboxes, owner, mailboxId, ranges.slice(i, i + INDEXING_BATCH), this.texts);
      done += await this.indexLoaded(owner, messages);
    }
    return done;
  }

  /** Indexes loaded messages; returns how many. */
  async indexLoaded(owner: string, messages: readonly IndexableMessage[]): Promise<number> {
    if (messages.length === 0) return 0;
    const docs = [];
    for (const { record, content } of messages) {
      let attachmentText = '';
      if (this.deps.attachments && content.summary.hasAttachment) {
        try {
          attachmentText = await this.deps.attachments.extract(owner, record, content.summary);
        } catch (err) {
          // Attachment text is a bonus: the message is indexed without it rather than not at all.
          this.deps.logger.warn({ err, mailboxId: record.mailboxId, uid: record.uid }, 'attachment text extraction failed');
        }
      }
      docs.push(withCopyHeaders(buildDocument(owner, record, content, attachmentText), record));
    }
    await this.deps.index.index(docs);
    return docs.length;
  }
}

/**
 * Keys the document by its content (the blob id, shared by the copies of one mail) and lists the
 * copy's own header lines (`headerPrefix`: Delivered-To… prepended at delivery) apart, also in
 * `headers` (once, first), so an index sharing the content keeps them per copy.
 */
export function withCopyHeaders(doc: IndexedMessage, record: MessageRecord): IndexedMessage {
  doc.contentKey = record.blobId;
  if (!record.headerPrefix || record.headerPrefix.length === 0) return doc;
  const copy: Array<[string, string]> = [];
  for (const [name, values] of parseHeaderBlock(record.headerPrefix)) {
    for (const value of values) {
      if (copy.length >= MAX_INDEXED_HEADERS) break;
      copy.push([name, decodeWords(value.trim()).slice(0, MAX_INDEXED_HEADER_VALUE)]);
    }
  }
  const pending = copy.map(([name, value]) => `${name}\0${value}`);
  const shared = doc.headers.filter(([name, value]) => {
    const at = pending.indexOf(`${name}\0${value}`);
    if (at === -1) return true;
    pending.splice(at, 1);
    return false;
  });
  doc.copyHeaders = copy;
  doc.headers = [...copy, ...shared].slice(0, MAX_INDEXED_HEADERS);
  return doc;
}
