import { InvalidInputError } from '../../../core/errors';
import { MAX_ANNOTATION_SIZE, normalizeAnnotationKey, type Annotation, type AnnotationDepth } from '../../../mailbox/api/annotations';
import { MailboxLimitError } from '../../../mailbox/api/errors';
import { ImapBadError, ImapNoError } from '../errors';
import { formatMailboxName } from '../mailbox-name';
import type { ImapValue } from '../parser';
import { formatString, ok } from '../response';
import type { ImapCommand } from '../types';
import { astringArg, mailboxRefArg, refName } from './args';
import type { MailboxRef } from '../../../mailbox/api/mailbox-manager';

/**
 * Most entries one GETMETADATA may name and one SETMETADATA may set: a mailbox holds at most
 * MAX_ANNOTATIONS_PER_MAILBOX of them, so a longer list is a client bug (or an attack on memory).
 */
export const MAX_METADATA_ENTRIES = 200;

/** Entry names as the client gave them, validated (BAD on a malformed name, RFC 5464 §3.2). */
function entryName(value: ImapValue): string {
  const raw = astringArg(value, 'entry name');
  try {
    return normalizeAnnotationKey(raw);
  } catch (err) {
    if (err instanceof InvalidInputError) throw new ImapBadError(err.message, 'CLIENTBUG');
    throw err;
  }
}

/** An entry name as an astring: an atom when it can be one. */
function formatEntry(key: string): string {
  return /^[A-Za-z0-9/._-]+$/.test(key) ? key : formatString(key);
}

/** The mailbox argument: `""` is the server (RFC 5464 §3.2). */
function mailboxArg(value: ImapValue, utf8: boolean): MailboxRef | null {
  if ((value.type === 'quoted' && value.value === '') || (value.type === 'literal' && value.value.length === 0)) return null;
  return mailboxRefArg(value, utf8);
}

/** `(MAXSIZE n DEPTH 0|1|infinity)` of GETMETADATA (RFC 5464 §4.2). */
function parseOptions(value: ImapValue): { maxSize: number | null; depth: AnnotationDepth } {
  if (value.type !== 'list' || value.items.length === 0 || value.items.length % 2 !== 0) throw new ImapBadError('Invalid GETMETADATA options', 'CLIENTBUG');
  let maxSize: number | null = null;
  let depth: AnnotationDepth = '0';
  const seen = new Set<string>();
  for (let i = 0; i < value.items.length; i += 2) {
    const name = value.items[i].type === 'atom' ? (value.items[i] as { value: string }).value.toUpperCase() : '';
    const argument = value.items[i + 1].type === 'atom' ? (value.items[i + 1] as { value: string }).value : '';
    if (seen.has(name)) throw new ImapBadError(`GETMETADATA option ${name} given twice`, 'CLIENTBUG');
    seen.add(name);
    if (name === 'MAXSIZE' && /^\d{1,10}$/.test(argument)) maxSize = Number(argument);
    else if (name === 'DEPTH' && /^(0|1|infinity)$/i.test(argument)) depth = argument.toLowerCase() as AnnotationDepth;
    else throw new ImapBadError(`Invalid GETMETADATA option ${name.slice(0, 20) || '?'}`, 'CLIENTBUG');
  }
  return { maxSize, depth };
}

/**
 * RFC 5464 §4.2 GETMETADATA [options] mailbox entries. Mailbox entries come from the mailbox
 * annotations port (needs `r`); server entries (mailbox `""`) are none yet, so each requested one
 * is answered NIL. With MAXSIZE, larger values are left out and `OK [METADATA LONGENTRIES n]`
 * names the largest one left out.
 */
export const getmetadata: ImapCommand = {
  name: 'GETMETADATA',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    const usage = 'Usage: GETMETADATA [(MAXSIZE <n> DEPTH <0|1|infinity>)] <mailbox> <entry | (entries)>';
    let rest = args;
    let options: { maxSize: number | null; depth: AnnotationDepth } = { maxSize: null, depth: '0' };
    if (rest.length === 3) {
      options = parseOptions(rest[0]);
      rest = rest.slice(1);
    }
    if (rest.length !== 2) throw new ImapBadError(usage, 'CLIENTBUG');
    const mailbox = mailboxArg(rest[0], session.utf8Names());
    const entries = rest[1].type === 'list' ? rest[1].items : [rest[1]];
    if (entries.length === 0 || entries.length > MAX_METADATA_ENTRIES) throw new ImapBadError(`GETMETADATA takes 1 to ${MAX_METADATA_ENTRIES} entries`, 'CLIENTBUG');
    const keys = [...new Set(entries.map(entryName))];
    const found: Annotation[] = mailbox === null ? [] : await session.requireManager().getAnnotations(session.user as string, mailbox, keys, options.depth);
    let longest = 0;
    const shown: Annotation[] = [];
    for (const annotation of found) {
      const size = annotation.value === null ? 0 : Buffer.byteLength(annotation.value);
      if (options.maxSize !== null && size > options.maxSize) longest = Math.max(longest, size);
      else shown.push(annotation);
    }
    // Requested entries that do not exist are answered NIL (as Dovecot and Cyrus do).
    for (const key of keys) if (!found.some((a) => a.key === key || a.key.startsWith(`${key}/`))) shown.push({ key, value: null });
    if (shown.length > 0) {
      const pairs = shown.map((a) => `${formatEntry(a.key)} ${a.value === null ? 'NIL' : formatString(a.value)}`).join(' ');
      await session.untagged(`METADATA ${formatMailboxName(mailbox === null ? '' : refName(mailbox), session.utf8Names())} (${pairs})`);
    }
    return longest > 0 ? ok('GETMETADATA completed', `METADATA LONGENTRIES ${longest}`) : ok('GETMETADATA completed');
  },
};

/**
 * RFC 5464 §4.3 SETMETADATA mailbox (entry value …); NIL removes an entry. All or nothing:
 * `NO [METADATA MAXSIZE n]` for a value over the limit, `NO [METADATA TOOMANY]` past the count,
 * `NO [NOPERM]` without the right (`/shared/` needs `n`). Server entries are read-only.
 */
export const setmetadata: ImapCommand = {
  name: 'SETMETADATA',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    if (args.length !== 2 || args[1].type !== 'list') throw new ImapBadError('Usage: SETMETADATA <mailbox> (<entry> <value> ...)', 'CLIENTBUG');
    const mailbox = mailboxArg(args[0], session.utf8Names());
    const items = args[1].items;
    if (items.length === 0 || items.length % 2 !== 0 || items.length / 2 > MAX_METADATA_ENTRIES) throw new ImapBadError('SETMETADATA needs entry/value pairs', 'CLIENTBUG');
    const annotations: Annotation[] = [];
    for (let i = 0; i < items.length; i += 2) {
      const key = entryName(items[i]);
      const value = items[i + 1];
      let text: string | null;
      if (value.type === 'nil') text = null;
      else if (value.type === 'quoted') text = value.value;
      else if (value.type === 'literal') text = value.value.toString('utf8');
      else throw new ImapBadError('An entry value is a string, a literal or NIL', 'CLIENTBUG');
      if (text !== null && Buffer.byteLength(text) > MAX_ANNOTATION_SIZE) throw new ImapNoError(`Value larger than ${MAX_ANNOTATION_SIZE} octets`, `METADATA MAXSIZE ${MAX_ANNOTATION_SIZE}`);
      annotations.push({ key, value: text });
    }
    if (mailbox === null) throw new ImapNoError('Server entries are read-only', 'NOPERM');
    try {
      await session.requireManager().setAnnotations(session.user as string, mailbox, annotations);
    } catch (err) {
      if (err instanceof MailboxLimitError && err.code === 'METADATA MAXSIZE') throw new ImapNoError(err.message, `METADATA MAXSIZE ${MAX_ANNOTATION_SIZE}`);
      if (err instanceof InvalidInputError && !(err instanceof MailboxLimitError)) throw new ImapBadError(err.message, 'CLIENTBUG');
      throw err;
    }
    return ok('SETMETADATA completed');
  },
};
