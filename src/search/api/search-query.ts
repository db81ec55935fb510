/**
 * The search query model: one criterion tree covering every IMAP SEARCH key (RFC 3501/9051
 * §6.4.4, RFC 5032 WITHIN, RFC 7162 MODSEQ) and every JMAP Email/query FilterCondition (RFC 8621
 * §4.4.1) that a per-message index can answer, plus the sort keys of IMAP SORT (RFC 5256, RFC 5957)
 * and JMAP Comparators. Protocols translate their syntax into it (IMAP sequence numbers become UID
 * ranges of the session's view before they reach an index).
 */

/** A calendar day `YYYY-MM-DD` (IMAP date keys ignore time and timezone; days are UTC). */
export type Day = string;

export interface UidInterval {
  from: number;
  /** Inclusive. */
  to: number;
}

/** Address and subject fields that have their own indexed field. */
export type AddressField = 'from' | 'to' | 'cc' | 'bcc';

export type Criterion =
  | { type: 'all' }
  | { type: 'none' }
  /** A flag or keyword is set (`present`) or not; compared case-insensitively. */
  | { type: 'flag'; flag: string; present: boolean }
  | { type: 'uid'; ranges: UidInterval[] }
  /** The message is in one of these mailboxes (JMAP inMailbox / inMailboxOtherThan, under NOT). */
  | { type: 'mailbox'; ids: string[] }
  /** Size in octets: IMAP LARGER/SMALLER are strict, JMAP minSize is `>=` and maxSize `<`. */
  | { type: 'size'; op: 'gt' | 'ge' | 'lt'; size: number }
  /** IMAP BEFORE/ON/SINCE (internal date) and SENTBEFORE/SENTON/SENTSINCE (Date header), by UTC day. */
  | { type: 'day'; field: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; day: Day }
  /** Instant comparison: JMAP before (`<`) / after (`>=`) on receivedAt, IMAP OLDER/YOUNGER. */
  | { type: 'time'; field: 'internal' | 'sent'; op: 'before' | 'after'; time: number }
  /** A header field (name case-insensitive) contains `value` (case-insensitive); '' matches any message having the field. */
  | { type: 'header'; field: string; value: string }
  /** An address field (names and addresses, decoded) contains `value`. */
  | { type: 'address'; field: AddressField; value: string }
  | { type: 'subject'; value: string }
  /** Body text (text parts, HTML converted to text) contains `value`. */
  | { type: 'body'; value: string }
  /** Headers, body, attachment names and attachment text contain `value` (IMAP TEXT, JMAP text). */
  | { type: 'text'; value: string }
  | { type: 'attachmentName'; value: string }
  | { type: 'hasAttachment'; value: boolean }
  | { type: 'modseq'; modSeq: number }
  /** JMAP Email ids (the message content ids shared by copies). */
  | { type: 'messageId'; ids: string[] }
  | { type: 'threadId'; ids: string[] }
  | { type: 'not'; criterion: Criterion }
  | { type: 'or'; criteria: Criterion[] }
  | { type: 'and'; criteria: Criterion[] };

export type SortField =
  /** Internal date (IMAP ARRIVAL, JMAP receivedAt). */
  | 'arrival'
  /** Date header, the internal date when absent (IMAP DATE, JMAP sentAt). */
  | 'sentDate'
  | 'size'
  /** Base subject (RFC 5256 §2.1), case-insensitive. */
  | 'subject'
  /** Local part of the first address (RFC 5256 FROM/TO/CC). */
  | 'from'
  | 'to'
  | 'cc'
  /** Display name or else the address of the first address (RFC 5957). */
  | 'displayFrom'
  | 'displayTo'
  | 'uid';

export interface SortKey {
  field: SortField;
  reverse: boolean;
}

export interface SearchQuery {
  /** Mailboxes searched (at least one; callers resolve rights first). */
  mailboxIds: string[];
  criterion: Criterion;
  /** Sort keys; ties (and no sort) fall back to mailbox id then UID ascending. */
  sort?: SortKey[];
  /** At most this many hits (default and maximum MAX_SEARCH_RESULTS). */
  limit?: number;
  /** Hits skipped first (JMAP position). */
  offset?: number;
}

export interface SearchHit {
  mailboxId: string;
  uid: number;
  /** The message content id (JMAP Email id). */
  messageId: string;
}

/**
 * Hits one search returns at most. IMAP SEARCH on a larger mailbox pages with `offset`
 * (the index answers in bounded memory; the protocol streams the pages).
 */
export const MAX_SEARCH_RESULTS = 10_000;
/** Mailboxes one query names at most (JMAP inMailboxOtherThan over a huge account is split by the caller). */
export const MAX_QUERY_MAILBOXES = 1_000;
/** Nodes of a criterion tree (IMAP bounds keys at 1000; a JMAP filter is bounded the same). */
export const MAX_CRITERION_NODES = 2_000;
/** Longest string a text criterion may carry. */
export const MAX_CRITERION_STRING = 1_024;

/** Thrown for a query outside the limits above, or with malformed values. */
export class InvalidSearchQueryError extends Error {}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Validates a query against the limits (adapters call it before translating). */
export function validateQuery(query: SearchQuery): void {
  if (!Array.isArray(query.mailboxIds) || query.mailboxIds.length === 0) throw new InvalidSearchQueryError('A search names at least one mailbox');
  if (query.mailboxIds.length > MAX_QUERY_MAILBOXES) throw new InvalidSearchQueryError(`A search names at most ${MAX_QUERY_MAILBOXES} mailboxes`);
  if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 0)) throw new InvalidSearchQueryError('limit must be a non-negative integer');
  if (query.offset !== undefined && (!Number.isSafeInteger(query.offset) || query.offset < 0)) throw new InvalidSearchQueryError('offset must be a non-negative integer');
  let nodes = 0;
  const visit = (c: Criterion, depth: number): void => {
    if (++nodes > MAX_CRITERION_NODES) throw new InvalidSearchQueryError(`A search has at most ${MAX_CRITERION_NODES} criteria`);
    if (depth > 100) throw new InvalidSearchQueryError('Search criteria are nested too deeply');
    switch (c.type) {
      case 'not':
        return visit(c.criterion, depth + 1);
      case 'and':
      case 'or':
        for (const child of c.criteria) visit(child, depth + 1);
        return;
      case 'header':
      case 'address':
      case 'subject':
      case 'body':
      case 'text':
      case 'attachmentName':
        if (typeof c.value !== 'string' || c.value.length > MAX_CRITERION_STRING) throw new InvalidSearchQueryError(`Search strings have at most ${MAX_CRITERION_STRING} characters`);
        if (c.type === 'header' && !/^[!-9;-~]+$/.test(c.field)) throw new InvalidSearchQueryError('Invalid header field name');
        return;
      case 'day':
        if (!DAY.test(c.day) || Number.isNaN(Date.parse(`${c.day}T00:00:00Z`))) throw new InvalidSearchQueryError(`Invalid day ${c.day}`);
        return;
      case 'time':
      case 'size':
      case 'modseq': {
        const n = c.type === 'time' ? c.time : c.type === 'size' ? c.size : c.modSeq;
        if (!Number.isFinite(n)) throw new InvalidSearchQueryError(`Invalid number in ${c.type} criterion`);
        return;
      }
      case 'uid':
        for (const r of c.ranges) if (!Number.isSafeInteger(r.from) || !Number.isSafeInteger(r.to)) throw new InvalidSearchQueryError('Invalid UID range');
        return;
      case 'mailbox':
      case 'messageId':
      case 'threadId':
        if (c.ids.length > MAX_SEARCH_RESULTS) throw new InvalidSearchQueryError('Too many ids in one criterion');
        return;
      default:
        return;
    }
  };
  visit(query.criterion, 0);
}

/** Start of a UTC day in milliseconds. */
export function dayStart(day: Day): number {
  return Date.parse(`${day}T00:00:00Z`);
}

export const DAY_MS = 86_400_000;

/** The effective limit of a query. */
export function limitOf(query: SearchQuery): number {
  return Math.min(query.limit ?? MAX_SEARCH_RESULTS, MAX_SEARCH_RESULTS);
}
