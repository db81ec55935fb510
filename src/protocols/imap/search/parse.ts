import { ImapBadError, ImapNoError } from '../errors';
import { MAX_SEARCH_KEYS } from '../limits';
import { OBJECT_ID } from '../object-id';
import type { ImapValue } from '../parser';
import { InvalidSequenceSetError, parseSequenceSet, type SequenceRange } from '../sequence-set';
import type { Day, ReturnOption, SearchKey, SearchRequest } from './query';

/** Charsets accepted for SEARCH strings (RFC 9051 §6.4.4: UTF-8 and US-ASCII are mandatory). */
export const SEARCH_CHARSETS = ['US-ASCII', 'UTF-8'];

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const RETURN_OPTIONS = new Set<ReturnOption>(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE']);

/** Flag keys without argument: name → [flag, present]. NEW/OLD/RECENT are handled apart. */
const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};
const HEADER_KEYS = new Set(['BCC', 'CC', 'FROM', 'SUBJECT', 'TO']);
const DATE_KEYS: Record<string, ['internal' | 'sent', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

/**
 * Parses the arguments of SEARCH (after the command name) into a request:
 * `[RETURN (options)] [CHARSET name] key+`. Throws ImapBadError (syntax), ImapNoError
 * [BADCHARSET] (unknown charset). The number of keys is bounded by MAX_SEARCH_KEYS so a huge
 * OR tree costs bounded work; nesting is bounded by the parser's list depth and this count.
 */
export function parseSearch(args: readonly ImapValue[]): SearchRequest {
  let index = 0;
  let returnOptions: ReturnOption[] | null = null;
  const first = args[0];
  if (first?.type === 'atom' && !first.section && first.value.toUpperCase() === 'RETURN') {
    const list = args[1];
    if (list?.type !== 'list') throw new ImapBadError('Usage: SEARCH RETURN (<options>) <keys>');
    returnOptions = [];
    for (const item of list.items) {
      const option = item.type === 'atom' && !item.section ? (item.value.toUpperCase() as ReturnOption) : null;
      if (option === null || !RETURN_OPTIONS.has(option)) throw new ImapBadError('Unknown SEARCH return option');
      if (!returnOptions.includes(option)) returnOptions.push(option);
    }
    index = 2;
  }
  const charsetArg = args[index];
  if (charsetArg?.type === 'atom' && !charsetArg.section && charsetArg.value.toUpperCase() === 'CHARSET') {
    const name = args[index + 1];
    if (!name || (name.type !== 'atom' && name.type !== 'quoted')) throw new ImapBadError('Usage: SEARCH CHARSET <charset> <keys>');
    if (!SEARCH_CHARSETS.includes(name.value.toUpperCase())) {
      throw new ImapNoError(`Unsupported charset ${name.value}`, `BADCHARSET (${SEARCH_CHARSETS.join(' ')})`);
    }
    index += 2;
  }
  const parser = new KeyParser(args.slice(index));
  const keys: SearchKey[] = [];
  while (!parser.done) keys.push(parser.key(0));
  if (keys.length === 0) throw new ImapBadError('SEARCH needs at least one search key');
  return { key: keys.length === 1 ? keys[0] : { type: 'and', keys }, returnOptions };
}

class KeyParser {
  private index = 0;
  private count = 0;

  constructor(private readonly args: readonly ImapValue[]) {}

  get done(): boolean {
    return this.index >= this.args.length;
  }

  private next(what: string): ImapValue {
    const value = this.args[this.index++];
    if (value === undefined) throw new ImapBadError(`Missing ${what} in SEARCH`);
    return value;
  }

  private string(what: string): string {
    const value = this.next(what);
    if (value.type === 'quoted') return value.value;
    if (value.type === 'literal') return value.value.toString('utf8');
    if (value.type === 'atom' && !value.section) return value.value;
    if (value.type === 'nil') return 'NIL';
    throw new ImapBadError(`Invalid ${what} in SEARCH`);
  }

  private number(what: string): number {
    const text = this.string(what);
    if (!/^\d{1,20}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new ImapBadError(`Invalid ${what} in SEARCH`);
    return Number(text);
  }

  private day(): Day {
    const text = this.string('date');
    const match = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
    const month = match ? MONTHS.indexOf(match[2].toUpperCase()) : -1;
    if (!match || month === -1 || Number(match[1]) < 1 || Number(match[1]) > 31) throw new ImapBadError(`Invalid date ${JSON.stringify(text)} in SEARCH`);
    return `${match[3]}-${String(month + 1).padStart(2, '0')}-${match[1].padStart(2, '0')}`;
  }

  private sequenceSet(text: string): SequenceRange[] {
    try {
      return parseSequenceSet(text);
    } catch (err) {
      if (err instanceof InvalidSequenceSetError) throw new ImapBadError(err.message, 'CLIENTBUG');
      throw err;
    }
  }

  key(depth: number): SearchKey {
    if (++this.count > MAX_SEARCH_KEYS) throw new ImapBadError(`SEARCH has more than ${MAX_SEARCH_KEYS} keys`, 'LIMIT');
    const value = this.next('search key');
    if (value.type === 'list') {
      if (value.items.length === 0) throw new ImapBadError('Empty parenthesized SEARCH key');
      const inner = new KeyParser(value.items);
      inner.count = this.count;
      const keys: SearchKey[] = [];
      while (!inner.done) keys.push(inner.key(depth + 1));
      this.count = inner.count;
      return keys.length === 1 ? keys[0] : { type: 'and', keys };
    }
    if (value.type !== 'atom' || value.section) throw new ImapBadError('Invalid SEARCH key');
    const name = value.value.toUpperCase();
    if (name === '$') return { type: 'saved' };
    if (/^[\d*]/.test(name)) return { type: 'sequence', set: this.sequenceSet(value.value) };
    const flag = FLAG_KEYS[name];
    if (flag) return { type: 'flag', flag: flag[0], present: flag[1] };
    const date = DATE_KEYS[name];
    if (date) return { type: 'date', field: date[0], op: date[1], day: this.day() };
    if (HEADER_KEYS.has(name)) return { type: 'header', field: name, value: this.string(`${name} value`) };
    switch (name) {
      case 'ALL':
      case 'OLD':
        // No session-recent messages (RFC 9051 removed \Recent): every message is old.
        return { type: 'all' };
      case 'RECENT':
      case 'NEW':
        return { type: 'none' };
      case 'KEYWORD':
      case 'UNKEYWORD':
        return { type: 'flag', flag: this.string('keyword'), present: name === 'KEYWORD' };
      case 'LARGER':
      case 'SMALLER':
        return { type: name === 'LARGER' ? 'larger' : 'smaller', size: this.number('size') };
      case 'OLDER':
      case 'YOUNGER':
        return { type: name === 'OLDER' ? 'older' : 'younger', seconds: this.number('interval') };
      case 'HEADER': {
        const field = this.string('header field name');
        if (!/^[\x21-\x39\x3b-\x7e]+$/.test(field)) throw new ImapBadError('Invalid header field name in SEARCH');
        return { type: 'header', field: field.toUpperCase(), value: this.string('header value') };
      }
      case 'BODY':
      case 'TEXT':
        return { type: name === 'BODY' ? 'body' : 'text', value: this.string(`${name} value`) };
      case 'UID': {
        const set = this.string('UID set');
        return set === '$' ? { type: 'saved' } : { type: 'uid', set: this.sequenceSet(set) };
      }
      case 'MODSEQ': {
        // MODSEQ [<entry-name> <entry-type>] <mod-sequence> (RFC 7162 §3.1.5); entries are not tracked.
        const peek = this.args[this.index];
        if (peek?.type === 'quoted') {
          this.next('entry name');
          const type = this.string('entry type').toLowerCase();
          if (!['priv', 'shared', 'all'].includes(type)) throw new ImapBadError('Invalid MODSEQ entry type');
        }
        return { type: 'modseq', modSeq: this.number('mod-sequence') };
      }
      case 'EMAILID':
      case 'THREADID': {
        // RFC 8474 §6: an objectid; anything else could never match and is a client error.
        const id = this.string(`${name} value`);
        if (!OBJECT_ID.test(id)) throw new ImapBadError(`Invalid ${name} in SEARCH`);
        return { type: name === 'EMAILID' ? 'emailid' : 'threadid', id };
      }
      case 'NOT':
        return { type: 'not', key: this.key(depth + 1) };
      case 'OR': {
        const left = this.key(depth + 1);
        return { type: 'or', left, right: this.key(depth + 1) };
      }
      default:
        throw new ImapBadError(`Unknown SEARCH key ${name.slice(0, 40)}`);
    }
  }
}
