import type { Readable } from 'node:stream';
import { MAIL_BUCKET } from '../../../blob/api/blob-store';
import { NotFoundError } from '../../../core/errors';
import type { MessageMetadata } from '../../../mailbox/api/mailbox-store';
import { ImapBadError, ImapNoError } from '../errors';
import type { ImapValue, Partial } from '../parser';
import { formatFlags, formatInternalDate, ok, type TaggedResult } from '../response';
import type { SelectedMailbox } from '../selected-mailbox';
import { InvalidSequenceSetError, parseSequenceSet, type SequenceRange } from '../sequence-set';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';
import { atomArg } from './args';

type FetchItem =
  | { kind: 'FLAGS' | 'UID' | 'RFC822.SIZE' | 'INTERNALDATE' }
  /** BODY[], BODY.PEEK[] (answered as BODY[]) and RFC822 (answered as RFC822). */
  | { kind: 'body'; label: string; peek: boolean; partial?: Partial };

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
    if (value.section.length > 0) throw unsupported(`${name}[<section>] (only ${name}[] is)`);
    const label = value.partial ? `BODY[]<${value.partial.start}>` : 'BODY[]';
    return { kind: 'body', label, peek: name === 'BODY.PEEK', partial: value.partial };
  }
  switch (name) {
    case 'FLAGS':
    case 'UID':
    case 'RFC822.SIZE':
    case 'INTERNALDATE':
      return { kind: name };
    case 'RFC822':
      return { kind: 'body', label: 'RFC822', peek: false };
    default:
      throw unsupported(name);
  }
}

/** fetch-att, a parenthesized list of them, or one of the macros ALL, FAST, FULL (RFC 3501 §6.4.5). */
function parseItems(value: ImapValue): FetchItem[] {
  if (value.type === 'atom' && !value.section) {
    const name = value.value.toUpperCase();
    if (name === 'FAST') return [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }];
    if (name === 'ALL' || name === 'FULL') throw new ImapBadError(`FETCH ${name} is not supported by this server yet (it includes ENVELOPE)`);
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
  if (args.length === 3) throw new ImapBadError(`${command} modifiers are not supported`);
  if (args.length !== 2) throw new ImapBadError(`Usage: ${command} <sequence set> <items>`);
  let set: SequenceRange[];
  try {
    set = parseSequenceSet(atomArg(args[0], 'sequence set'));
  } catch (err) {
    if (err instanceof InvalidSequenceSetError) throw new ImapBadError(err.message);
    throw err;
  }
  const items = parseItems(args[1]);
  const view = session.selected as SelectedMailbox;
  const ranges = byUid ? view.uidRangesForUidSet(set) : view.uidRangesForSequenceSet(set);
  if (byUid && !items.some((item) => item.kind === 'UID')) items.unshift({ kind: 'UID' });
  const markSeen = !view.readOnly && items.some((item) => item.kind === 'body' && !item.peek);

  const unavailable: number[] = [];
  for (const range of ranges) {
    for await (const message of session.deps.mailboxes.listMessages(view.mailbox.id, range)) {
      const sequence = view.sequenceOf(message.uid);
      // Not announced to this session yet (appended since SELECT/NOOP): invisible.
      if (sequence === null) continue;
      if (!(await fetchMessage(session, view, sequence, message, items, markSeen))) unavailable.push(message.uid);
    }
  }
  if (unavailable.length > 0) {
    const named = unavailable.slice(0, MAX_UIDS_IN_REPLY).join(',') + (unavailable.length > MAX_UIDS_IN_REPLY ? ',...' : '');
    throw new ImapNoError(`Content of ${unavailable.length} message(s) is unavailable (UID ${named})`, 'SERVERBUG');
  }
  return ok(`${command} completed`);
}

/** Writes one `* n FETCH (...)`; false when the message content is missing from the blob store. */
async function fetchMessage(
  session: ImapSession,
  view: SelectedMailbox,
  sequence: number,
  message: MessageMetadata,
  items: readonly FetchItem[],
  markSeen: boolean,
): Promise<boolean> {
  const bodies = new Map<FetchItem, BodyPart>();
  try {
    // Open every body before writing anything: a missing blob must not leave half a response.
    for (const item of items) {
      if (item.kind !== 'body') continue;
      const start = item.partial?.start ?? 0;
      const length = item.partial ? Math.max(0, Math.min(item.partial.length, message.size - start)) : message.size;
      const part: BodyPart = { label: item.label, start, length, exact: !item.partial, stream: null };
      bodies.set(item, part);
      if (length === 0) continue;
      try {
        part.stream = await session.deps.blobs.read(MAIL_BUCKET, message.blobId);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        session.log.error({ err, mailboxId: view.mailbox.id, uid: message.uid, blobId: message.blobId }, 'message content missing from the blob store');
        return false;
      }
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
