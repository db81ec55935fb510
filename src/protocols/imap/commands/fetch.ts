import { Readable } from 'node:stream';
import type { FetchedMessage } from '../../../mailbox/api/mailbox-manager';
import type { UidRange } from '../../../mailbox/api/mailbox-store';
import type { MessageSummary } from '../../../mime/parsed-message';
import { findPart, formatBodyStructure, formatEnvelope } from '../body-structure';
import { formatNumberSet } from '../search/query';
import { filterHeaderFields, readHeaderBlock } from '../message-sections';
import { MAIL_BUCKET } from '../../../blob/api/blob-store';
import { NotFoundError } from '../../../core/errors';
import type { MessageMetadata } from '../../../mailbox/api/mailbox-store';
import { ImapBadError, ImapNoError } from '../errors';
import type { ImapValue, Partial } from '../parser';
import { formatFlags, formatInternalDate, ok, type TaggedResult } from '../response';
import type { SelectedMailbox } from '../selected-mailbox';
import { InvalidSequenceSetError, parseSequenceSet, resolveSequenceSet, type SequenceRange } from '../sequence-set';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';
import { atomArg } from './args';

/** A message to fetch, with its parsed summary when the manager provided it. */
type FetchTarget = MessageMetadata & Pick<FetchedMessage, 'parsed'>;

/** The part of the message a body item returns (RFC 3501 §6.4.5 section-spec). */
type Section = ({ type: 'full' } | { type: 'header' } | { type: 'text' } | { type: 'mime' } | { type: 'fields'; names: string[]; not: boolean }) & {
  /** MIME part number (`1.2`); absent: the whole message. */
  part?: string;
};

type FetchItem =
  | { kind: 'FLAGS' | 'UID' | 'RFC822.SIZE' | 'INTERNALDATE' | 'MODSEQ' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' }
  /** BODY[section], BODY.PEEK[section] (answered as BODY[section]) and RFC822, RFC822.HEADER, RFC822.TEXT. */
  | { kind: 'body'; label: string; peek: boolean; section: Section; partial?: Partial };

const SEEN = '\\Seen';
/** At most this many UIDs are named in the NO of a FETCH whose message contents are missing. */
const MAX_UIDS_IN_REPLY = 10;

function unsupported(name: string): ImapBadError {
  return new ImapBadError(`FETCH item ${name} is not supported by this server yet`);
}

function parseItem(value: ImapValue): FetchItem {
  if (value.type !== 'atom') throw new ImapBadError('Invalid FETCH item');
  const name = value.value.toUpperCase();
  if (value.section) {
    if (name !== 'BODY' && name !== 'BODY.PEEK') throw unsupported(`${name}[]`);
    const { section, spec } = parseSection(value.section);
    const label = value.partial ? `BODY[${spec}]<${value.partial.start}>` : `BODY[${spec}]`;
    return { kind: 'body', label, peek: name === 'BODY.PEEK', section, partial: value.partial };
  }
  switch (name) {
    case 'FLAGS':
    case 'UID':
    case 'RFC822.SIZE':
    case 'INTERNALDATE':
    case 'MODSEQ':
    case 'ENVELOPE':
    case 'BODYSTRUCTURE':
    case 'BODY':
      return { kind: name };
    case 'RFC822':
      return { kind: 'body', label: 'RFC822', peek: false, section: { type: 'full' } };
    case 'RFC822.HEADER':
      return { kind: 'body', label: 'RFC822.HEADER', peek: true, section: { type: 'header' } };
    case 'RFC822.TEXT':
      return { kind: 'body', label: 'RFC822.TEXT', peek: false, section: { type: 'text' } };
    default:
      throw unsupported(name);
  }
}

/** `[]`, `[HEADER]`, `[TEXT]`, `[HEADER.FIELDS (a b)]`, `[HEADER.FIELDS.NOT (a b)]`; part numbers are not supported yet. */
function parseSection(items: readonly ImapValue[]): { section: Section; spec: string } {
  if (items.length === 0) return { section: { type: 'full' }, spec: '' };
  const first = items[0];
  const whole = first.type === 'atom' ? first.value.toUpperCase() : '';
  // section-part: `1.2` followed by an optional `.MIME`, `.HEADER`, `.TEXT`, `.HEADER.FIELDS[.NOT]`.
  const partMatch = /^([1-9]\d{0,5}(?:\.[1-9]\d{0,5}){0,31})(?:\.(.*))?$/.exec(whole);
  const part = partMatch ? partMatch[1] : undefined;
  const name = partMatch ? (partMatch[2] ?? '') : whole;
  const prefix = part ? `${part}${name ? '.' : ''}` : '';
  if (part && name === '' && items.length === 1) return { section: { type: 'full', part }, spec: part };
  if (part && name === 'MIME' && items.length === 1) return { section: { type: 'mime', part }, spec: `${part}.MIME` };
  if (items.length === 1 && (name === 'HEADER' || name === 'TEXT')) return { section: { type: name === 'HEADER' ? 'header' : 'text', part }, spec: `${prefix}${name}` };
  if ((name === 'HEADER.FIELDS' || name === 'HEADER.FIELDS.NOT') && items.length === 2 && items[1].type === 'list' && items[1].items.length > 0) {
    const names = items[1].items.map((item) => {
      if (item.type === 'atom' && !item.section) return item.value;
      if (item.type === 'quoted') return item.value;
      if (item.type === 'literal') return item.value.toString('latin1');
      throw new ImapBadError('Invalid header field name');
    });
    if (names.some((n) => !/^[\x21-\x39\x3b-\x7e]+$/.test(n))) throw new ImapBadError('Invalid header field name');
    return { section: { type: 'fields', names, not: name === 'HEADER.FIELDS.NOT', part }, spec: `${prefix}${name} (${names.map((n) => n.toUpperCase()).join(' ')})` };
  }
  throw new ImapBadError('Invalid FETCH section');
}

/** fetch-att, a parenthesized list of them, or one of the macros ALL, FAST, FULL (RFC 3501 §6.4.5). */
function parseItems(value: ImapValue): FetchItem[] {
  if (value.type === 'atom' && !value.section) {
    const name = value.value.toUpperCase();
    if (name === 'FAST') return [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }];
    if (name === 'ALL') return [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }];
    if (name === 'FULL') return [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }];
  }
  const values = value.type === 'list' ? value.items : [value];
  if (values.length === 0) throw new ImapBadError('Empty FETCH item list');
  const items = new Map<string, FetchItem>();
  for (const item of values.map(parseItem)) items.set(item.kind === 'body' ? item.label : item.kind, item);
  return [...items.values()];
}

function hasFlag(flags: readonly string[], flag: string): boolean {
  const wanted = flag.toLowerCase();
  return flags.some((f) => f.toLowerCase() === wanted);
}

interface BodyPart {
  label: string;
  start: number;
  length: number;
  /** Whole blob: its length must be exactly `length`. */
  exact: boolean;
  stream: Readable | null;
}

/**
 * FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8). Messages are read range by range from
 * `listMessages` and bodies streamed from the blob store one message at a time, so memory does
 * not grow with the mailbox. A message whose content is missing from the blob store is left out
 * and reported in the tagged NO; the other messages are still sent.
 */
export async function runFetch({ args, session }: CommandContext, byUid: boolean): Promise<TaggedResult> {
  const command = byUid ? 'UID FETCH' : 'FETCH';
  if (args.length !== 2 && args.length !== 3) throw new ImapBadError(`Usage: ${command} <sequence set> <items> [(CHANGEDSINCE <modseq>)]`);
  let changedSince: number | null = null;
  let vanished = false;
  if (args.length === 3) {
    // RFC 7162 §3.1.4: only messages whose MODSEQ is above the value; implies MODSEQ.
    const modifiers = args[2];
    const [key, value, extra] = modifiers.type === 'list' ? modifiers.items : [];
    // RFC 7162 §3.2.6: UID FETCH … (CHANGEDSINCE n VANISHED) under QRESYNC also reports expunged UIDs.
    vanished = extra?.type === 'atom' && extra.value.toUpperCase() === 'VANISHED' && byUid && session.isEnabled('QRESYNC');
    if (modifiers.type !== 'list' || modifiers.items.length !== (vanished ? 3 : 2) || key.type !== 'atom' || key.value.toUpperCase() !== 'CHANGEDSINCE' || value.type !== 'atom' || !/^\d{1,19}$/.test(value.value) || !session.capabilities().includes('CONDSTORE')) {
      throw new ImapBadError(`Unknown ${command} modifier`);
    }
    changedSince = Number(value.value);
  }
  let set: SequenceRange[];
  try {
    set = parseSequenceSet(atomArg(args[0], 'sequence set'));
  } catch (err) {
    if (err instanceof InvalidSequenceSetError) throw new ImapBadError(err.message, 'CLIENTBUG');
    throw err;
  }
  const items = parseItems(args[1]);
  if (changedSince !== null && !items.some((item) => item.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ' });
  // RFC 7162 §3.1: using MODSEQ is a CONDSTORE enabling command.
  if (items.some((item) => item.kind === 'MODSEQ')) {
    if (!session.capabilities().includes('CONDSTORE')) throw unsupported('MODSEQ');
    session.enable('CONDSTORE');
  }
  const view = session.selected as SelectedMailbox;
  const ranges = byUid ? view.uidRangesForUidSet(set) : view.uidRangesForSequenceSet(set);
  if (byUid && !items.some((item) => item.kind === 'UID')) items.unshift({ kind: 'UID' });
  const markSeen = !view.readOnly && items.some((item) => item.kind === 'body' && !item.peek);

  // ENVELOPE, BODYSTRUCTURE and part sections use the parsed message stored by the manager.
  const needsSummary = items.some((item) => item.kind === 'ENVELOPE' || item.kind === 'BODYSTRUCTURE' || item.kind === 'BODY' || (item.kind === 'body' && item.section.part !== undefined));
  const manager = session.manager;
  if (needsSummary && !manager) throw unsupported('ENVELOPE, BODYSTRUCTURE and part sections');
  const source = (range: UidRange): AsyncIterable<FetchTarget> =>
    needsSummary && manager ? manager.getMessages(session.user as string, view.mailbox.id, [range], 'headers') : session.deps.mailboxes.listMessages(view.mailbox.id, range);

  if (vanished && manager && changedSince !== null) {
    // The set as the client sent it (not clamped to the UIDs still present).
    const requested = resolveSequenceSet(set, view.highestUid);
    const inSet = (uid: number): boolean => requested.some((r) => uid >= r.from && uid <= r.to);
    const gone = (await manager.expungedSince(session.user as string, view.mailbox.id, changedSince)).filter(inSet);
    if (gone.length > 0) await session.untagged(`VANISHED (EARLIER) ${formatNumberSet(gone)}`);
  }

  const unavailable: number[] = [];
  for (const range of ranges) {
    for await (const message of source(range)) {
      const sequence = view.sequenceOf(message.uid);
      // Not announced to this session yet (appended since SELECT/NOOP): invisible.
      if (sequence === null) continue;
      if (changedSince !== null && message.modSeq <= changedSince) continue;
      if (!(await fetchMessage(session, view, sequence, message, items, markSeen))) unavailable.push(message.uid);
    }
  }
  if (unavailable.length > 0) {
    const named = unavailable.slice(0, MAX_UIDS_IN_REPLY).join(',') + (unavailable.length > MAX_UIDS_IN_REPLY ? ',...' : '');
    throw new ImapNoError(`Content of ${unavailable.length} message(s) is unavailable (UID ${named})`, 'SERVERBUG');
  }
  return ok(`${command} completed`);
}

/**
 * A section of a MIME part (RFC 3501 §6.4.5) from the stored part offsets: `n` is the part's
 * body, `n.MIME` its header, `n.HEADER`/`n.TEXT`/`n.HEADER.FIELDS` those of an encapsulated
 * message/rfc822. A part that does not exist is empty (as Dovecot answers).
 */
async function partSection(label: string, section: Section, summary: MessageSummary | undefined, partial: Partial | undefined, open: () => Promise<Readable>): Promise<BodyPart> {
  const found = summary && section.part ? findPart(summary.structure, section.part) : null;
  let range: { start: number; end: number } | null = null;
  if (found) {
    const inner = found.message?.root;
    if (section.type === 'full') range = { start: found.bodyStart, end: found.bodyEnd };
    else if (section.type === 'mime') range = { start: found.headerStart, end: found.bodyStart };
    else if (inner && section.type === 'text') range = { start: inner.bodyStart, end: found.bodyEnd };
    else if (inner) range = { start: inner.headerStart, end: inner.bodyStart };
  }
  if (!range || range.end <= range.start) return { label, start: 0, length: 0, exact: true, stream: null };
  if (section.type === 'fields') {
    const header = await readRange(await open(), range.start, range.end - range.start);
    const bytes = filterHeaderFields(header, section.names, section.not);
    const window = partial ? bytes.subarray(partial.start, partial.start + partial.length) : bytes;
    return { label, start: 0, length: window.length, exact: true, stream: window.length > 0 ? Readable.from([window]) : null };
  }
  const available = range.end - range.start;
  const start = partial?.start ?? 0;
  const length = partial ? Math.max(0, Math.min(partial.length, available - start)) : available;
  return { label, start: range.start + start, length, exact: false, stream: length > 0 ? await open() : null };
}

async function readRange(stream: Readable, start: number, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = 0;
  let collected = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const from = Math.max(0, start - offset);
      offset += chunk.length;
      if (from >= chunk.length) continue;
      const piece = chunk.subarray(from, from + (length - collected));
      chunks.push(piece);
      collected += piece.length;
      if (collected >= length) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/** Writes one `* n FETCH (...)`; false when the message content is missing from the blob store. */
async function fetchMessage(
  session: ImapSession,
  view: SelectedMailbox,
  sequence: number,
  message: FetchTarget,
  items: readonly FetchItem[],
  markSeen: boolean,
): Promise<boolean> {
  const summary = message.parsed;
  const bodies = new Map<FetchItem, BodyPart>();
  try {
    // Open every body before writing anything: a missing blob must not leave half a response.
    let header: Buffer | null = null;
    const open = (): Promise<Readable> => session.deps.blobs.read(MAIL_BUCKET, message.blobId);
    try {
      for (const item of items) {
        if (item.kind !== 'body') continue;
        const section = item.section;
        let part: BodyPart;
        if (section.part !== undefined) {
          part = await partSection(item.label, section, summary, item.partial, open);
        } else if (section.type === 'full' || section.type === 'text') {
          let offset = 0;
          if (section.type === 'text') {
            header ??= await readHeaderBlock(await open());
            offset = header.length;
          }
          const available = Math.max(0, message.size - offset);
          const start = item.partial?.start ?? 0;
          const length = item.partial ? Math.max(0, Math.min(item.partial.length, available - start)) : available;
          part = { label: item.label, start: offset + start, length, exact: !item.partial, stream: null };
          if (length > 0) part.stream = await open();
        } else {
          header ??= await readHeaderBlock(await open());
          const bytes = section.type === 'fields' ? filterHeaderFields(header, section.names, section.not) : header;
          const start = item.partial?.start ?? 0;
          const window = item.partial ? bytes.subarray(start, start + item.partial.length) : bytes;
          part = { label: item.label, start: 0, length: window.length, exact: true, stream: window.length > 0 ? Readable.from([window]) : null };
        }
        bodies.set(item, part);
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      session.log.error({ err, mailboxId: view.mailbox.id, uid: message.uid, blobId: message.blobId }, 'message content missing from the blob store');
      return false;
    }

    let flags = message.flags;
    let flagsChanged = false;
    if (markSeen && !hasFlag(flags, SEEN)) {
      const updated = await session.deps.mailboxes.addFlags(view.mailbox.id, { from: message.uid, to: message.uid }, [SEEN]);
      flags = updated.find((m) => m.uid === message.uid)?.flags ?? [...flags, SEEN];
      flagsChanged = true;
    }

    const parts: Array<string | BodyPart> = items.map((item) => {
      switch (item.kind) {
        case 'FLAGS':
          return `FLAGS ${formatFlags(flags)}`;
        case 'UID':
          return `UID ${message.uid}`;
        case 'RFC822.SIZE':
          return `RFC822.SIZE ${message.size}`;
        case 'INTERNALDATE':
          return `INTERNALDATE ${formatInternalDate(message.internalDate)}`;
        case 'MODSEQ':
          return `MODSEQ (${message.modSeq})`;
        case 'ENVELOPE':
          return summary ? `ENVELOPE ${formatEnvelope(summary.envelope)}` : 'ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';
        case 'BODYSTRUCTURE':
        case 'BODY':
          return `${item.kind} ${summary ? formatBodyStructure(summary.structure, item.kind === 'BODYSTRUCTURE') : '("text" "plain" NIL NIL NIL "7bit" 0 0)'}`;
        case 'body':
          return bodies.get(item) as BodyPart;
      }
    });
    // RFC 3501 §6.4.5: flags changed by BODY[] SHOULD be part of the response.
    if (flagsChanged && !items.some((item) => item.kind === 'FLAGS')) parts.push(`FLAGS ${formatFlags(flags)}`);

    const writer = session.writer;
    let text = `* ${sequence} FETCH (`;
    for (const [index, part] of parts.entries()) {
      if (index > 0) text += ' ';
      if (typeof part === 'string') {
        text += part;
        continue;
      }
      await writer.write(`${text}${part.label} {${part.length}}\r\n`);
      text = '';
      if (part.stream) await writer.pipe(part.stream, part.start, part.length, part.exact);
    }
    await writer.line(`${text})`);
    return true;
  } finally {
    for (const part of bodies.values()) part.stream?.destroy();
  }
}

/** RFC 3501 §6.4.5. */
export const fetch: ImapCommand = {
  name: 'FETCH',
  states: ['selected'],
  handler: (context) => runFetch(context, false),
};
