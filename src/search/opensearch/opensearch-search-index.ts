import { Client } from '@opensearch-project/opensearch';
import type { FlagsChange, IndexedMessage, SearchIndex } from '../api/search-index';
import { DAY_MS, InvalidSearchQueryError, dayStart, limitOf, validateQuery, type Criterion, type SearchHit, type SearchQuery, type SortField } from '../api/search-query';

/** Version of the index mapping; a new mapping goes to a new index (reindex fills it). */
export const MAPPING_VERSION = 4;
/** Terms sent in one `terms` query (OpenSearch refuses more than 65,536 by default). */
const TERMS_CHUNK = 10_000;
/** OpenSearch's `index.max_result_window` (default): `from + size` of one search. */
export const MAX_RESULT_WINDOW = 10_000;
/** Mailboxes of one search sent as routing values; beyond, the search goes to every shard. */
export const MAX_ROUTED_MAILBOXES = 50;
/** Bound of one request to OpenSearch, so a hung node fails the event (retried) instead of blocking the listener. */
export const OPENSEARCH_REQUEST_TIMEOUT_MS = 10_000;

export interface OpenSearchIndexOptions {
  url: string;
  /** Prefix of the index name (`<prefix>mailbox_v1`), so several clusters or test runs share a node. */
  indexPrefix: string;
  shards?: number;
  replicas?: number;
  requestTimeoutMs?: number;
}

const SORT_FIELDS: Record<SortField, string> = {
  arrival: 'internalDate',
  sentDate: 'sortSentDate',
  size: 'size',
  subject: 'sortSubject',
  from: 'sortFrom',
  to: 'sortTo',
  cc: 'sortCc',
  displayFrom: 'sortDisplayFrom',
  displayTo: 'sortDisplayTo',
  uid: 'uid',
};

/**
 * Text fields: analyzed (words, phrases) plus a lower-case `wildcard` sub-field (n-gram indexed,
 * so `*part*` queries do not scan every term) for substrings of short values.
 */
const TEXT_WITH_RAW = { type: 'text', fields: { raw: { type: 'wildcard', normalizer: 'lowercase', ignore_above: 1024 } } };

/** Long text: analyzed, plus white-space separated lower-case words that keep their punctuation. */
const TEXT_WITH_WORDS = { type: 'text', fields: { ws: { type: 'text', analyzer: 'whitespace_lower' } } };

const ANALYSIS = { analyzer: { whitespace_lower: { type: 'custom', tokenizer: 'whitespace', filter: ['lowercase'] } } };

const MAPPING = {
  dynamic: 'strict',
  properties: {
    mailboxId: { type: 'keyword' },
    uid: { type: 'long' },
    owner: { type: 'keyword' },
    messageId: { type: 'keyword' },
    threadId: { type: 'keyword' },
    modSeq: { type: 'long' },
    size: { type: 'long' },
    internalDate: { type: 'long' },
    sentDate: { type: 'long' },
    sortSentDate: { type: 'long' },
    flags: { type: 'keyword', normalizer: 'lowercase' },
    hasAttachment: { type: 'boolean' },
    subject: TEXT_WITH_RAW,
    from: TEXT_WITH_RAW,
    to: TEXT_WITH_RAW,
    cc: TEXT_WITH_RAW,
    bcc: TEXT_WITH_RAW,
    headers: { type: 'nested', properties: { name: { type: 'keyword' }, value: { type: 'text' } } },
    /** `name: value` per header field, for substrings (a wildcard field does not answer inside a nested one on 2.19). */
    headerLines: { type: 'wildcard', normalizer: 'lowercase', ignore_above: 9_000 },
    body: TEXT_WITH_WORDS,
    attachmentNames: TEXT_WITH_RAW,
    attachmentText: TEXT_WITH_WORDS,
    sortSubject: { type: 'keyword' },
    sortFrom: { type: 'keyword' },
    sortTo: { type: 'keyword' },
    sortCc: { type: 'keyword' },
    sortDisplayFrom: { type: 'keyword' },
    sortDisplayTo: { type: 'keyword' },
  },
};

type Query = Record<string, unknown>;

/**
 * Distributed search index on OpenSearch 2.x: one document per (mailbox, uid), id
 * `<mailboxId>:<uid>`, routed by mailbox id (a mailbox's documents live on one shard, as in
 * James). Writes go through `_bulk`. Text criteria match words and phrases (`match_phrase`);
 * addresses, subjects, header values and attachment names also match as substrings through a
 * lower-case wildcard sub-field (values up to 1,024 characters).
 */
export class OpenSearchSearchIndex implements SearchIndex {
  readonly indexName: string;
  private readonly client: Client;

  private constructor(private readonly options: OpenSearchIndexOptions) {
    this.indexName = `${options.indexPrefix}mailbox_v${MAPPING_VERSION}`;
    this.client = new Client({ node: options.url, requestTimeout: options.requestTimeoutMs ?? OPENSEARCH_REQUEST_TIMEOUT_MS, maxRetries: 0 });
  }

  /** Connects and creates the index when missing. Unreachable: rejects (start-up reports it). */
  static async open(options: OpenSearchIndexOptions): Promise<OpenSearchSearchIndex> {
    const index = new OpenSearchSearchIndex(options);
    try {
      await index.ensureIndex();
    } catch (err) {
      await index.close();
      throw err;
    }
    return index;
  }

  /** A client that does not touch the engine until used (a node starts while OpenSearch is down; events retry). */
  static lazy(options: OpenSearchIndexOptions): OpenSearchSearchIndex {
    const index = new OpenSearchSearchIndex(options);
    index.ready = null;
    return index;
  }

  private ready: Promise<void> | null = Promise.resolve();

  private async ensureReady(): Promise<void> {
    if (this.ready === null) {
      this.ready = this.ensureIndex().catch((err: unknown) => {
        this.ready = null;
        throw err;
      });
    }
    await this.ready;
  }

  async ensureIndex(): Promise<void> {
    const exists = await this.client.indices.exists({ index: this.indexName });
    if (exists.body) return;
    try {
      await this.client.indices.create({
        index: this.indexName,
        body: {
          settings: { number_of_shards: this.options.shards ?? 1, number_of_replicas: this.options.replicas ?? 0, analysis: ANALYSIS },
          mappings: MAPPING,
        } as never,
      });
    } catch (err) {
      // Another node created it meanwhile.
      if (!/resource_already_exists_exception/.test(String((err as { message?: string }).message))) throw err;
    }
  }

  async index(messages: readonly IndexedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureReady();
    const body: unknown[] = [];
    for (const m of messages) {
      body.push({ index: { _index: this.indexName, _id: docId(m.mailboxId, m.uid), routing: m.mailboxId } });
      body.push({
        mailboxId: m.mailboxId,
        uid: m.uid,
        owner: m.owner,
        messageId: m.messageId,
        threadId: m.threadId,
        modSeq: m.modSeq,
        size: m.size,
        internalDate: m.internalDate,
        sentDate: m.sentDate,
        sortSentDate: m.sentDate ?? m.internalDate,
        flags: m.flags,
        hasAttachment: m.hasAttachment,
        subject: m.subject,
        from: m.from,
        to: m.to,
        cc: m.cc,
        bcc: m.bcc,
        headers: m.headers.map(([name, value]) => ({ name, value })),
        headerLines: m.headers.map(([name, value]) => `${name}: ${value.replace(/[\r\n]+/g, ' ')}`),
        body: m.body,
        attachmentNames: m.attachmentNames,
        attachmentText: m.attachmentText,
        sortSubject: m.sortSubject,
        sortFrom: m.sortFrom,
        sortTo: m.sortTo,
        sortCc: m.sortCc,
        sortDisplayFrom: m.sortDisplayFrom,
        sortDisplayTo: m.sortDisplayTo,
      });
    }
    await this.bulk(body);
  }

  async updateFlags(mailboxId: string, changes: readonly FlagsChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.ensureReady();
    const body: unknown[] = [];
    for (const c of changes) {
      body.push({ update: { _index: this.indexName, _id: docId(mailboxId, c.uid), routing: mailboxId, retry_on_conflict: 3 } });
      // An older change arriving late (a retried event) must not undo a newer one.
      body.push({
        script: {
          lang: 'painless',
          source: 'if (ctx._source.modSeq == null || ctx._source.modSeq <= params.modSeq) { ctx._source.flags = params.flags; ctx._source.modSeq = params.modSeq } else { ctx.op = "noop" }',
          params: { flags: c.flags, modSeq: c.modSeq },
        },
      });
    }
    await this.bulk(body, ['document_missing_exception']);
  }

  async delete(mailboxId: string, uids: readonly number[]): Promise<void> {
    if (uids.length === 0) return;
    await this.ensureReady();
    await this.bulk(
      uids.map((uid) => ({ delete: { _index: this.indexName, _id: docId(mailboxId, uid), routing: mailboxId } })),
      ['not_found'],
    );
  }

  async deleteMailbox(mailboxId: string): Promise<void> {
    await this.ensureReady();
    await this.client.deleteByQuery({ index: this.indexName, routing: mailboxId, conflicts: 'proceed', refresh: true, body: { query: { term: { mailboxId } } } as never });
  }

  async deleteOwner(owner: string): Promise<void> {
    await this.ensureReady();
    await this.client.deleteByQuery({ index: this.indexName, conflicts: 'proceed', refresh: true, body: { query: { term: { owner } } } as never });
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    validateQuery(query);
    const limit = limitOf(query);
    if ((query.offset ?? 0) + limit > MAX_RESULT_WINDOW) throw new InvalidSearchQueryError(`offset + limit must not exceed ${MAX_RESULT_WINDOW} (page by a sort key instead)`);
    await this.ensureReady();
    const sort = [...(query.sort ?? []).map((s) => ({ [SORT_FIELDS[s.field]]: { order: s.reverse ? 'desc' : 'asc' } })), { mailboxId: 'asc' }, { uid: 'asc' }];
    const response = await this.client.search({
      index: this.indexName,
      // Routing values travel in the URL (4 KiB line limit by default): many mailboxes search every shard.
      routing: query.mailboxIds.length <= MAX_ROUTED_MAILBOXES ? query.mailboxIds.join(',') : undefined,
      body: {
        query: { bool: { filter: [{ terms: { mailboxId: query.mailboxIds } }, compile(query.criterion)] } },
        sort,
        from: query.offset ?? 0,
        size: limit,
        _source: ['mailboxId', 'uid', 'messageId'],
        track_total_hits: false,
      } as never,
    });
    const hits = (response.body as { hits: { hits: Array<{ _source: SearchHit }> } }).hits.hits;
    return hits.map((h) => ({ mailboxId: h._source.mailboxId, uid: h._source.uid, messageId: h._source.messageId }));
  }

  async count(mailboxId: string): Promise<number> {
    await this.ensureReady();
    const response = await this.client.count({ index: this.indexName, routing: mailboxId, body: { query: { term: { mailboxId } } } as never });
    return (response.body as { count: number }).count;
  }

  /**
   * Indexed UIDs among `uids`. When the mailbox holds exactly as many documents in the UID span
   * as asked, all are taken as indexed (one count); otherwise the UIDs are looked up in chunks.
   */
  async indexedUids(mailboxId: string, uids: readonly number[]): Promise<number[]> {
    if (uids.length === 0) return [];
    await this.ensureReady();
    const sorted = [...uids].sort((a, b) => a - b);
    const span = { bool: { filter: [{ term: { mailboxId } }, { range: { uid: { gte: sorted[0], lte: sorted[sorted.length - 1] } } }] } };
    const counted = await this.client.count({ index: this.indexName, routing: mailboxId, body: { query: span } as never });
    if ((counted.body as { count: number }).count === sorted.length) return sorted;
    const found: number[] = [];
    for (let i = 0; i < sorted.length; i += TERMS_CHUNK) {
      const chunk = sorted.slice(i, i + TERMS_CHUNK);
      const response = await this.client.search({
        index: this.indexName,
        routing: mailboxId,
        body: { query: { bool: { filter: [{ term: { mailboxId } }, { terms: { uid: chunk } }] } }, size: chunk.length, _source: ['uid'] } as never,
      });
      for (const hit of (response.body as { hits: { hits: Array<{ _source: { uid: number } }> } }).hits.hits) found.push(hit._source.uid);
    }
    return found.sort((a, b) => a - b);
  }

  async refresh(): Promise<void> {
    await this.ensureReady();
    await this.client.indices.refresh({ index: this.indexName });
  }

  async checkHealth(): Promise<{ status: 'healthy' | 'unhealthy'; cause: string | null }> {
    try {
      const response = await this.client.cluster.health({ timeout: '5s' });
      const status = (response.body as { status: string }).status;
      return status === 'red' ? { status: 'unhealthy', cause: 'cluster status red' } : { status: 'healthy', cause: null };
    } catch (err) {
      return { status: 'unhealthy', cause: (err as Error).message };
    }
  }

  /** Removes the index (tests and benchmarks clean up with it). */
  async dropIndex(): Promise<void> {
    await this.client.indices.delete({ index: this.indexName, ignore_unavailable: true });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async bulk(body: unknown[], ignored: string[] = []): Promise<void> {
    const response = await this.client.bulk({ body: body as never });
    const result = response.body as { errors: boolean; items: Array<Record<string, { status: number; error?: { type: string; reason?: string }; result?: string }>> };
    if (!result.errors) return;
    for (const item of result.items) {
      const outcome = Object.values(item)[0];
      if (outcome.status < 300) continue;
      if (outcome.result && ignored.includes(outcome.result)) continue;
      if (outcome.error && ignored.includes(outcome.error.type)) continue;
      throw new Error(`OpenSearch bulk ${outcome.status}: ${outcome.error?.type ?? outcome.result ?? 'error'} ${outcome.error?.reason ?? ''}`.trim());
    }
  }
}

function docId(mailboxId: string, uid: number): string {
  return `${mailboxId}:${uid}`;
}

function escapeWildcard(value: string): string {
  return value.replace(/[\\*?]/g, (c) => `\\${c}`);
}

/** A string criterion on a field with a `.raw` sub-field: the phrase, or the value as a substring. */
function textOrSubstring(field: string, value: string): Query {
  return {
    bool: {
      should: [{ match_phrase: { [field]: value } }, { wildcard: { [`${field}.raw`]: { value: `*${escapeWildcard(value.toLowerCase())}*`, case_insensitive: true } } }],
      minimum_should_match: 1,
    },
  };
}

function headerLine(pattern: string): Query {
  return { wildcard: { headerLines: { value: pattern, case_insensitive: true } } };
}

function headerQuery(name: string, value: string): Query {
  const field = escapeWildcard(name.toLowerCase());
  if (value === '') return headerLine(`${field}:*`);
  return {
    bool: {
      should: [
        { nested: { path: 'headers', query: { bool: { filter: [{ term: { 'headers.name': name.toLowerCase() } }, { match_phrase: { 'headers.value': value } }] } } } },
        headerLine(`${field}: *${escapeWildcard(value.toLowerCase())}*`),
      ],
      minimum_should_match: 1,
    },
  };
}

/**
 * A phrase of a long text field. A value with punctuation (`noon?`) must also match the words as
 * written (the analyzed field drops punctuation, so `noon?` alone would match `noon.`).
 */
function phrase(field: string, value: string): Query {
  if (!/[^\p{L}\p{N}\s]/u.test(value)) return { match_phrase: { [field]: value } };
  return { bool: { filter: [{ match_phrase: { [field]: value } }, { match_phrase: { [`${field}.ws`]: value } }] } };
}

const MATCH_ALL: Query = { match_all: {} };
const MATCH_NONE: Query = { match_none: {} };

function range(field: string, bounds: Record<string, number>): Query {
  return { range: { [field]: bounds } };
}

function compile(c: Criterion): Query {
  switch (c.type) {
    case 'all':
      return MATCH_ALL;
    case 'none':
      return MATCH_NONE;
    case 'flag': {
      const term = { term: { flags: c.flag.toLowerCase() } };
      return c.present ? term : { bool: { must_not: [term] } };
    }
    case 'uid':
      if (c.ranges.length === 0) return MATCH_NONE;
      return { bool: { should: c.ranges.map((r) => range('uid', { gte: r.from, lte: r.to })), minimum_should_match: 1 } };
    case 'size':
      return range('size', { [c.op === 'ge' ? 'gte' : c.op]: c.size });
    case 'day': {
      const field = c.field === 'internal' ? 'internalDate' : 'sentDate';
      const start = dayStart(c.day);
      if (c.op === 'before') return range(field, { lt: start });
      if (c.op === 'since') return range(field, { gte: start });
      return range(field, { gte: start, lt: start + DAY_MS });
    }
    case 'time':
      return range(c.field === 'internal' ? 'internalDate' : 'sentDate', c.op === 'before' ? { lt: c.time } : { gte: c.time });
    case 'header':
      return headerQuery(c.field, c.value);
    case 'address':
      return textOrSubstring(c.field, c.value);
    case 'subject':
      return textOrSubstring('subject', c.value);
    case 'body':
      return phrase('body', c.value);
    case 'text':
      return {
        bool: {
          should: [
            { multi_match: { query: c.value, type: 'phrase', fields: ['subject', 'from', 'to', 'cc', 'bcc', 'attachmentNames'] } },
            phrase('body', c.value),
            phrase('attachmentText', c.value),
            ...['subject', 'from', 'to', 'cc', 'bcc', 'attachmentNames'].map((f) => textOrSubstring(f, c.value)),
            { nested: { path: 'headers', query: { match_phrase: { 'headers.value': c.value } } } },
            headerLine(`*: *${escapeWildcard(c.value.toLowerCase())}*`),
          ],
          minimum_should_match: 1,
        },
      };
    case 'attachmentName':
      return textOrSubstring('attachmentNames', c.value);
    case 'hasAttachment':
      return { term: { hasAttachment: c.value } };
    case 'modseq':
      return range('modSeq', { gte: c.modSeq });
    case 'mailbox':
      return { terms: { mailboxId: c.ids } };
    case 'messageId':
      return { terms: { messageId: c.ids } };
    case 'threadId':
      return { terms: { threadId: c.ids } };
    case 'not':
      return { bool: { must_not: [compile(c.criterion)] } };
    case 'and':
      return c.criteria.length === 0 ? MATCH_ALL : { bool: { filter: c.criteria.map(compile) } };
    case 'or':
      return c.criteria.length === 0 ? MATCH_NONE : { bool: { should: c.criteria.map(compile), minimum_should_match: 1 } };
  }
}
