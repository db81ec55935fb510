import type { MessageMetadata, MessageRecord } from '../../../mailbox/api/mailbox-store';
import { objectId } from '../object-id';
import { resolveSequenceSet, type NumberRange } from '../sequence-set';
import type { Day, SearchKey } from './query';

/** What a key is evaluated against: one message of the selected mailbox. */
export interface SearchTarget {
  sequence: number;
  message: MessageMetadata;
  /** Parsed content; only present when the query needs it and the message is not indexed. */
  content?: ParsedContent;
  /** The search index knows the message: content keys are answered by `SearchScope.fromIndex`. */
  indexed?: boolean;
}

/** The sizes `*` stands for in sequence sets and UID sets (the session's view). */
export interface SearchScope {
  exists: number;
  highestUid: number;
  now: Date;
  /** UIDs matching each content key (header/body/text/sent date) according to the search index. */
  fromIndex?: Map<SearchKey, ReadonlySet<number>>;
  /** UIDs saved by SEARCH RETURN (SAVE), for `$` (RFC 5182). */
  saved?: ReadonlySet<number>;
}

/** Headers (unfolded, encoded words decoded) and body text of a message, for string keys. */
export interface ParsedContent {
  headers: Map<string, string[]>;
  headerText: string;
  bodyText: string;
}

/** Splits raw message bytes into headers and body; header names upper-cased. */
export function parseContent(raw: Buffer): ParsedContent {
  let split = raw.indexOf('\r\n\r\n');
  let separator = 4;
  if (split === -1) {
    split = raw.indexOf('\n\n');
    separator = 2;
  }
  const headerBytes = split === -1 ? raw : raw.subarray(0, split);
  const bodyBytes = split === -1 ? Buffer.alloc(0) : raw.subarray(split + separator);
  const headerText = headerBytes.toString('utf8');
  const headers = new Map<string, string[]>();
  for (const field of headerText.split(/\r?\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toUpperCase();
    let value = field.slice(colon + 1).replace(/\r?\n[ \t]/g, ' ').trim();
    value = decodeEncodedWords(value);
    const values = headers.get(name) ?? [];
    values.push(value);
    headers.set(name, values);
  }
  return { headers, headerText: [...headers.entries()].map(([k, v]) => `${k}: ${v.join(' ')}`).join('\n'), bodyText: bodyBytes.toString('utf8') };
}

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=(?:\s+(?==\?))?/g;

/** Decodes RFC 2047 encoded words; an unknown charset leaves the word as written. */
export function decodeEncodedWords(value: string): string {
  return value.replace(ENCODED_WORD, (word, charset: string, encoding: string, text: string) => {
    try {
      const bytes =
        encoding.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      return new TextDecoder(charset.split('*')[0]).decode(bytes);
    } catch {
      return word;
    }
  });
}

function contains(haystack: string, needle: string): boolean {
  return haystack.toLowerCase().includes(needle.toLowerCase());
}

function dayOf(date: Date): Day {
  return date.toISOString().slice(0, 10);
}

function compareDay(date: Date | null, op: 'before' | 'on' | 'since', day: Day): boolean {
  if (date === null || Number.isNaN(date.getTime())) return false;
  const actual = dayOf(date);
  if (op === 'before') return actual < day;
  if (op === 'on') return actual === day;
  return actual >= day;
}

function inRanges(ranges: readonly NumberRange[], value: number): boolean {
  return ranges.some((range) => value >= range.from && value <= range.to);
}

/**
 * Evaluates a compiled query. Sets are resolved once per search (a query is compiled per
 * SEARCH command, then run message by message).
 */
export function compileSearch(key: SearchKey, scope: SearchScope): (target: SearchTarget) => boolean {
  const indexed = scope.fromIndex?.get(key);
  if (indexed) {
    const inMemory = compileKey(key, scope);
    return (target) => (target.indexed ? indexed.has(target.message.uid) : inMemory(target));
  }
  return compileKey(key, scope);
}

function compileKey(key: SearchKey, scope: SearchScope): (target: SearchTarget) => boolean {
  switch (key.type) {
    case 'all':
      return () => true;
    case 'none':
      return () => false;
    case 'flag': {
      const wanted = key.flag.toLowerCase();
      return ({ message }) => message.flags.some((flag) => flag.toLowerCase() === wanted) === key.present;
    }
    case 'sequence': {
      const ranges = resolveSequenceSet(key.set, scope.exists);
      return ({ sequence }) => inRanges(ranges, sequence);
    }
    case 'uid': {
      const ranges = resolveSequenceSet(key.set, scope.highestUid);
      return ({ message }) => inRanges(ranges, message.uid);
    }
    case 'larger':
      return ({ message }) => message.size > key.size;
    case 'smaller':
      return ({ message }) => message.size < key.size;
    case 'older': {
      const limit = scope.now.getTime() - key.seconds * 1000;
      return ({ message }) => message.internalDate.getTime() <= limit;
    }
    case 'younger': {
      const limit = scope.now.getTime() - key.seconds * 1000;
      return ({ message }) => message.internalDate.getTime() >= limit;
    }
    case 'date':
      if (key.field === 'internal') return ({ message }) => compareDay(message.internalDate, key.op, key.day);
      return ({ content }) => {
        const header = content?.headers.get('DATE')?.[0];
        return compareDay(header === undefined ? null : new Date(header), key.op, key.day);
      };
    case 'header':
      return ({ content }) => {
        const values = content?.headers.get(key.field);
        if (!values) return false;
        return key.value === '' || values.some((value) => contains(value, key.value));
      };
    case 'body':
      return ({ content }) => contains(content?.bodyText ?? '', key.value);
    case 'text':
      return ({ content }) => contains(content?.headerText ?? '', key.value) || contains(content?.bodyText ?? '', key.value);
    case 'modseq':
      return ({ message }) => message.modSeq >= key.modSeq;
    case 'saved':
      return ({ message }) => scope.saved?.has(message.uid) ?? false;
    case 'emailid':
      return ({ message }) => objectId(message.messageId) === key.id;
    case 'threadid':
      return ({ message }) => {
        const threadId = (message as Partial<MessageRecord>).threadId;
        return threadId !== undefined && threadId !== '' && objectId(threadId) === key.id;
      };
    case 'not': {
      const inner = compileSearch(key.key, scope);
      return (target) => !inner(target);
    }
    case 'or': {
      const left = compileSearch(key.left, scope);
      const right = compileSearch(key.right, scope);
      return (target) => left(target) || right(target);
    }
    case 'and': {
      const keys = key.keys.map((k) => compileSearch(k, scope));
      return (target) => keys.every((k) => k(target));
    }
  }
}
