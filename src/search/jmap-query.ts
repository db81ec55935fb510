import type { AddressField, Criterion, SortKey } from './api/search-query';

/** RFC 8621 §4.4.1 FilterCondition of Email/query. */
export interface EmailFilterCondition {
  inMailbox?: string;
  inMailboxOtherThan?: string[];
  before?: string;
  after?: string;
  minSize?: number;
  maxSize?: number;
  allInThreadHaveKeyword?: string;
  someInThreadHaveKeyword?: string;
  noneInThreadHaveKeyword?: string;
  hasKeyword?: string;
  notKeyword?: string;
  hasAttachment?: boolean;
  text?: string;
  from?: string;
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  /** `[name]` (the field exists) or `[name, value]` (its value contains `value`). */
  header?: string[];
}

/** RFC 8620 §5.5 FilterOperator. */
export interface EmailFilterOperator {
  operator: 'AND' | 'OR' | 'NOT';
  conditions: EmailFilter[];
}

export type EmailFilter = EmailFilterCondition | EmailFilterOperator;

/** RFC 8620 §5.5 Comparator with RFC 8621 §4.4.2 properties. */
export interface EmailComparator {
  property: string;
  isAscending?: boolean;
  collation?: string;
}

/** JMAP `unsupportedFilter` (RFC 8620 §5.5): the method answers it as a method error. */
export class UnsupportedFilterError extends Error {
  readonly type = 'unsupportedFilter';
}

/** JMAP `unsupportedSort`. */
export class UnsupportedSortError extends Error {
  readonly type = 'unsupportedSort';
}

/** Comparators of one Email/query at most (RFC 8620 leaves it to the server). */
export const MAX_COMPARATORS = 10;
/** Nesting of filter operators at most. */
export const MAX_FILTER_DEPTH = 20;

const KEYWORD = /^[\x21-\x7e]{1,255}$/;
const UTC_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** IMAP system flags a JMAP keyword stands for (RFC 8621 §4.1.1). */
const SYSTEM_KEYWORDS: Record<string, string> = { $seen: '\\Seen', $flagged: '\\Flagged', $answered: '\\Answered', $draft: '\\Draft' };
const SORTS: Record<string, SortKey['field']> = { receivedAt: 'arrival', sentAt: 'sentDate', size: 'size', subject: 'subject', from: 'displayFrom', to: 'displayTo' };
const ADDRESS_FIELDS: AddressField[] = ['from', 'to', 'cc', 'bcc'];
const KNOWN = new Set([
  'inMailbox', 'inMailboxOtherThan', 'before', 'after', 'minSize', 'maxSize', 'allInThreadHaveKeyword', 'someInThreadHaveKeyword', 'noneInThreadHaveKeyword',
  'hasKeyword', 'notKeyword', 'hasAttachment', 'text', 'from', 'to', 'cc', 'bcc', 'subject', 'body', 'header',
]);

function keywordFlag(keyword: unknown, property: string): string {
  if (typeof keyword !== 'string' || !KEYWORD.test(keyword) || /[()\]{%*"\\]/.test(keyword)) throw new UnsupportedFilterError(`Invalid keyword in ${property}`);
  return SYSTEM_KEYWORDS[keyword.toLowerCase()] ?? keyword;
}

function string(value: unknown, property: string): string {
  if (typeof value !== 'string') throw new UnsupportedFilterError(`${property} must be a string`);
  return value;
}

function size(value: unknown, property: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new UnsupportedFilterError(`${property} must be an unsigned integer`);
  return value as number;
}

function date(value: unknown, property: string): number {
  if (typeof value !== 'string' || !UTC_DATE.test(value) || Number.isNaN(Date.parse(value))) throw new UnsupportedFilterError(`${property} must be a UTCDate`);
  return Date.parse(value);
}

function condition(filter: EmailFilterCondition): Criterion {
  const criteria: Criterion[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (!KNOWN.has(key)) throw new UnsupportedFilterError(`Unknown filter property ${key.slice(0, 50)}`);
    switch (key) {
      case 'inMailbox':
        criteria.push({ type: 'mailbox', ids: [string(value, key)] });
        break;
      case 'inMailboxOtherThan':
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new UnsupportedFilterError('inMailboxOtherThan must be a list of ids');
        criteria.push({ type: 'not', criterion: { type: 'mailbox', ids: value as string[] } });
        break;
      case 'before':
        criteria.push({ type: 'time', field: 'internal', op: 'before', time: date(value, key) });
        break;
      case 'after':
        criteria.push({ type: 'time', field: 'internal', op: 'after', time: date(value, key) });
        break;
      case 'minSize':
        criteria.push({ type: 'size', op: 'ge', size: size(value, key) });
        break;
      case 'maxSize':
        criteria.push({ type: 'size', op: 'lt', size: size(value, key) });
        break;
      case 'hasKeyword':
        criteria.push({ type: 'flag', flag: keywordFlag(value, key), present: true });
        break;
      case 'notKeyword':
        criteria.push({ type: 'flag', flag: keywordFlag(value, key), present: false });
        break;
      case 'hasAttachment':
        if (typeof value !== 'boolean') throw new UnsupportedFilterError('hasAttachment must be a boolean');
        criteria.push({ type: 'hasAttachment', value });
        break;
      case 'text':
        criteria.push({ type: 'text', value: string(value, key) });
        break;
      case 'subject':
        criteria.push({ type: 'subject', value: string(value, key) });
        break;
      case 'body':
        criteria.push({ type: 'body', value: string(value, key) });
        break;
      case 'header': {
        if (!Array.isArray(value) || value.length < 1 || value.length > 2 || value.some((v) => typeof v !== 'string')) throw new UnsupportedFilterError('header must be [name] or [name, value]');
        const [name, text] = value as string[];
        if (!/^[!-9;-~]{1,200}$/.test(name)) throw new UnsupportedFilterError('Invalid header field name');
        criteria.push({ type: 'header', field: name.toLowerCase(), value: text ?? '' });
        break;
      }
      case 'allInThreadHaveKeyword':
      case 'someInThreadHaveKeyword':
      case 'noneInThreadHaveKeyword':
        // Thread-wide keyword state is not in a per-message index (James answers the same).
        throw new UnsupportedFilterError(`${key} is not supported`);
      default:
        if (ADDRESS_FIELDS.includes(key as AddressField)) criteria.push({ type: 'address', field: key as AddressField, value: string(value, key) });
    }
  }
  return criteria.length === 1 ? criteria[0] : { type: 'and', criteria };
}

/** Translates an Email/query filter (RFC 8621 §4.4.1) into the search query model. Null: no filter. */
export function jmapFilterToCriterion(filter: EmailFilter | null | undefined, depth = 0): Criterion {
  if (filter === null || filter === undefined) return { type: 'all' };
  if (typeof filter !== 'object' || Array.isArray(filter)) throw new UnsupportedFilterError('A filter is an object');
  if (depth > MAX_FILTER_DEPTH) throw new UnsupportedFilterError('Filter nested too deeply');
  if ('operator' in filter) {
    const { operator, conditions } = filter;
    if (!Array.isArray(conditions)) throw new UnsupportedFilterError('conditions must be a list');
    const children = conditions.map((c) => jmapFilterToCriterion(c, depth + 1));
    if (operator === 'AND') return { type: 'and', criteria: children };
    if (operator === 'OR') return { type: 'or', criteria: children };
    if (operator === 'NOT') return { type: 'not', criterion: { type: 'or', criteria: children } };
    throw new UnsupportedFilterError(`Unknown operator ${String(operator).slice(0, 20)}`);
  }
  return condition(filter);
}

/** Translates Email/query comparators (RFC 8621 §4.4.2) into sort keys. */
export function jmapSortToKeys(sort: readonly EmailComparator[] | null | undefined): SortKey[] {
  if (sort === null || sort === undefined) return [];
  if (!Array.isArray(sort) || sort.length > MAX_COMPARATORS) throw new UnsupportedSortError(`At most ${MAX_COMPARATORS} comparators`);
  return sort.map((comparator) => {
    const field = SORTS[comparator?.property];
    if (!field) throw new UnsupportedSortError(`Unsupported sort property ${String(comparator?.property).slice(0, 50)}`);
    if (comparator.collation !== undefined && comparator.collation !== 'i;ascii-casemap' && comparator.collation !== 'i;unicode-casemap') {
      throw new UnsupportedSortError(`Unsupported collation ${String(comparator.collation).slice(0, 50)}`);
    }
    return { field, reverse: comparator.isAscending === false };
  });
}
