import { pipeline, Readable } from 'node:stream';
import type { FetchedMessage, FetchGroup } from '../../../mailbox/api/mailbox-manager';
import type { MessageMetadata } from '../../../mailbox/api/mailbox-store';
import type { MessageSummary, MimePart } from '../../../mime/parsed-message';
import { findPart, formatBodyStructure, formatEnvelope } from '../body-structure';
import { formatNumberSet } from '../search/query';
import { filterHeaderFields, headerEnd, readHeaderBlock } from '../message-sections';
import { openMessageContent, readMessageBytes } from '../../../mailbox/message-content';
import { NotFoundError } from '../../../core/errors';
import { ImapBadError, ImapNoError } from '../errors';
import { decodeTransferEncoding, isKnownTransferEncoding } from '../binary';
import { createTransferDecoderStream } from '../../../mime/transfer-decoder-stream';
import type { ImapValue, Partial as ImapPartial } from '../parser';
import { formatFlags, formatInternalDate, ok, type TaggedResult } from '../response';
import type { SelectedMailbox } from '../selected-mailbox';
import { resolveSequenceSet } from '../sequence-set';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';
import { messageSetArg } from './mailbox-args';
import { objectId } from '../object-id';

/** A message to fetch, with its stored header block and parsed summary when the manager provided them. */
type FetchTarget = MessageMetadata & Partial<Pick<FetchedMessage, 'parsed' | 'headers' | 'threadId'>>;

/** The part of the message a body item returns (RFC 3501 §6.4.5 section-spec). */
type Section = ({ type: 'full' } | { type: 'header' } | { type: 'text' } | { type: 'mime' } | { type: 'fields'; names: string[]; not: boolean }) & {
  /** MIME part number (`1.2`); absent: the whole message. */
  part?: string;
};

type SimpleItem = 'FLAGS' | 'UID' | 'RFC822.SIZE' | 'INTERNALDATE' | 'MODSEQ' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'EMAILID' | 'THREADID';

type FetchItem =
  | { kind: SimpleItem }
  /** BODY[section], BODY.PEEK[section] (answered as BODY[section]) and RFC822, RFC822.HEADER, RFC822.TEXT. */
  | { kind: 'body'; label: string; peek: boolean; section: Section; partial?: ImapPartial }
  /** RFC 3516 BINARY[part]<partial>, BINARY.PEEK and BINARY.SIZE[part]: the part's content, transfer encoding removed. */
  | { kind: 'binary'; label: string; peek: boolean; part: string; partial?: ImapPartial; sizeOnly: boolean };


const SEEN = '\\Seen';
/** At most this many UIDs are named in the NO of a FETCH whose message contents are missing. */
const MAX_UIDS_IN_REPLY = 10;
/**
 * Messages up to this size are read from the blob store in one call and answered from memory;
 * larger ones are streamed (memory per session stays bounded by this, not by the message size).
 */
export const INLINE_CONTENT_MAX = 256 * 1024;
/**
 * BINARY decodes parts up to this size (encoded) in memory; larger ones are decoded as they
 * stream (once to learn the decoded size the literal announces, once to send it), so memory per
 * session stays bounded whatever the size of the part.
 */
export const INLINE_BINARY_MAX = 256 * 1024;

function unsupported(name: string): ImapBadError {
  return new ImapBadError(`FETCH item ${name} is not supported by this server yet`);
}

function parseItem(value: ImapValue, session: ImapSession): FetchItem {
  if (value.type !== 'atom') throw new ImapBadError('Invalid FETCH item');
  const name = value.value.toUpperCase();
  if (value.section) {
    if (name === 'BINARY' || name === 'BINARY.PEEK' || name === 'BINARY.SIZE') return parseBinary(name, value.section, value.partial);
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
    case 'EMAILID':
    case 'THREADID':
      // RFC 8474 §5 items (OBJECTID).
      if (session.manager === null) throw unsupported(name);
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

/** RFC 3516 §4: section-binary is `[]` or a part number only (no HEADER/TEXT/MIME); BINARY.SIZE takes no partial. */
function parseBinary(name: string, section: readonly ImapValue[], partial: ImapPartial | undefined): FetchItem {
  let part = '';
  if (section.length > 1) throw new ImapBadError(`Invalid ${name} section`, 'CLIENTBUG');
  if (section.length === 1) {
    const first = section[0];
    if (first.type !== 'atom' || first.section || !/^[1-9]\d{0,5}(?:\.[1-9]\d{0,5}){0,31}$/.test(first.value)) throw new ImapBadError(`Invalid ${name} section`, 'CLIENTBUG');
    part = first.value;
  }
  const sizeOnly = name === 'BINARY.SIZE';
  if (sizeOnly && partial) throw new ImapBadError('BINARY.SIZE takes no partial', 'CLIENTBUG');
  const label = sizeOnly ? `BINARY.SIZE[${part}]` : partial ? `BINARY[${part}]<${partial.start}>` : `BINARY[${part}]`;
  return { kind: 'binary', label, peek: name !== 'BINARY', part, partial, sizeOnly };
}

/** `[]`, `[HEADER]`, `[TEXT]`, `[HEADER.FIELDS (a b)]`, `[HEADER.FIELDS.NOT (a b)]`, each optionally after a part number. */
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
function parseItems(value: ImapValue, session: ImapSession): FetchItem[] {
  if (value.type === 'atom' && !value.section) {
    const name = value.value.toUpperCase();
    if (name === 'FAST') return [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }];
    if (name === 'ALL') return [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }];
    if (name === 'FULL') return [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }];
  }
  const values = value.type === 'list' ? value.items : [value];
  if (values.length === 0) throw new ImapBadError('Empty FETCH item list');
  const items = new Map<string, FetchItem>();
  for (const item of values.map((v) => parseItem(v, session))) items.set(item.kind === 'body' || item.kind === 'binary' ? item.label : item.kind, item);
  return [...items.values()];
}

function hasFlag(flags: readonly string[], flag: string): boolean {
  const wanted = flag.toLowerCase();
  return flags.some((f) => f.toLowerCase() === wanted);
}

/** The content of one body item: bytes in memory, or a byte window of the blob to stream. */
interface BodyPart {
  label: string;
  length: number;
  /** RFC 3516 literal8 (`~{n}`): BINARY content may hold NUL. */
  literal8?: boolean;
  bytes?: Buffer;
  stream?: { source: Readable; start: number; exact: boolean };
}

function window(bytes: Buffer, partial: { start: number; length: number } | undefined): Buffer {
  return partial ? bytes.subarray(partial.start, partial.start + partial.length) : bytes;
}

/**
 * Lazy access to one message's bytes: the stored header block (no blob read), the whole message
 * read once when it is small, or a stream for large ones.
 */
class MessageContent {
  private whole: Buffer | null = null;
  private header: Buffer | null = null;

  constructor(
    private readonly session: ImapSession,
    readonly message: FetchTarget,
  ) {}

  get summary(): MessageSummary | undefined {
    return this.message.parsed;
  }

  get small(): boolean {
    return this.message.size <= INLINE_CONTENT_MAX;
  }

  open(): Promise<Readable> {
    return openMessageContent(this.session.deps.blobs, this.message);
  }

  async bytes(): Promise<Buffer> {
    this.whole ??= await readMessageBytes(this.session.deps.blobs, this.message);
    return this.whole;
  }

  /** The header block, the empty line after it included: as stored at append when it was kept whole. */
  async headerBlock(): Promise<Buffer> {
    if (this.header) return this.header;
    const { headers } = this.message;
    // A stored block that ends with its empty line is whole (one cut at the storage limit cannot end with it).
    if (headers && endsWithEmptyLine(headers)) return (this.header = headers);
    const parsed = this.message.parsed;
    if (headers && parsed && headers.length === parsed.headerSize) this.header = headers;
    else if (this.whole || this.small) this.header = (await this.bytes()).subarray(0, parsed?.headerSize ?? headerLength(await this.bytes()));
    else this.header = await readHeaderBlock(await this.open());
    return this.header;
  }

  /** Bytes `start .. end` of the message, from memory or as a stream window. */
  async range(label: string, start: number, end: number, partial: { start: number; length: number } | undefined, exact: boolean): Promise<BodyPart> {
    const available = Math.max(0, end - start);
    const from = partial?.start ?? 0;
    const length = partial ? Math.max(0, Math.min(partial.length, available - from)) : available;
    if (length === 0) return { label, length: 0 };
    if (this.whole || this.small) {
      const bytes = (await this.bytes()).subarray(start + from, start + from + length);
      // A blob shorter than the stored size would desynchronize the literal: as the stream check does.
      if (exact && !partial && bytes.length !== length) throw new NotFoundError(`blob of ${length} bytes has ${bytes.length}`);
      return { label, length: bytes.length, bytes };
    }
    return { label, length, stream: { source: await this.open(), start: start + from, exact: exact && !partial } };
  }

  /** Bytes of a part window, in memory (for HEADER.FIELDS of a part and BINARY). */
  async slice(start: number, end: number): Promise<Buffer> {
    if (this.whole || this.small) return (await this.bytes()).subarray(start, end);
    return readRange(await this.open(), start, end - start);
  }
}

function endsWithEmptyLine(block: Buffer): boolean {
  const n = block.length;
  return (n >= 2 && block[n - 1] === 0x0a && block[n - 2] === 0x0a) || (n >= 4 && block[n - 1] === 0x0a && block[n - 2] === 0x0d && block[n - 3] === 0x0a && block[n - 4] === 0x0d);
}

/** Length of the header block (CRLF CRLF or bare LF LF ends it; without one the message is all header). */
function headerLength(bytes: Buffer): number {
  const end = headerEnd(bytes);
  return end === -1 ? bytes.length : end;
}

/**
 * FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8). Messages are read range by range from the
 * mailbox manager (their stored header block and parsed summary with them, so header fetches and
 * ENVELOPE/BODYSTRUCTURE read no blob); small bodies are read in one blob call and large ones
 * streamed, so memory does not grow with the mailbox nor the message. Responses are queued and
 * written in batches of RESPONSE_BATCH_BYTES. A message whose content is missing from the blob
 * store is left out and reported in the tagged NO; the other messages are still sent.
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
  const set = messageSetArg(args[0]);
  const items = parseItems(args[1], session);
  if (changedSince !== null && !items.some((item) => item.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ' });
  // RFC 7162 §3.1: using MODSEQ is a CONDSTORE enabling command.
  if (items.some((item) => item.kind === 'MODSEQ')) {
    if (!session.capabilities().includes('CONDSTORE')) throw unsupported('MODSEQ');
    session.enable('CONDSTORE');
  }
  const view = session.selected as SelectedMailbox;
  const ranges = view.uidRangesFor(set, byUid);
  if (byUid && !items.some((item) => item.kind === 'UID')) items.unshift({ kind: 'UID' });
  let markSeen = !view.readOnly && items.some((item) => (item.kind === 'body' || item.kind === 'binary') && !item.peek);
  // RFC 4314 §4: FETCH sets \Seen only with the `s` right (checked now: a SETACL may have come since
  // SELECT); without it the fetch still answers, the flag unchanged.
  if (markSeen) markSeen = await maySetSeen(session, view);

  // ENVELOPE, BODYSTRUCTURE, part sections and BINARY use the parsed message stored by the manager;
  // header sections its stored header block when there is one (else the blob).
  const needsSummary = items.some(
    (item) => item.kind === 'ENVELOPE' || item.kind === 'BODYSTRUCTURE' || item.kind === 'BODY' || item.kind === 'binary' || (item.kind === 'body' && item.section.part !== undefined),
  );
  const wantsHeaders = items.some((item) => item.kind === 'body' && item.section.type !== 'full');
  const manager = session.manager;
  if ((needsSummary || items.some((item) => item.kind === 'THREADID')) && !manager) throw unsupported('ENVELOPE, BODYSTRUCTURE and part sections');
  const group: FetchGroup = needsSummary || wantsHeaders ? 'headers' : 'metadata';
  // The manager's iterable as it is (one async generator less per message than wrapping it).
  const source = (): AsyncIterable<FetchTarget> => (manager ? manager.getMessages(session.user as string, view.mailbox.id, ranges, group) : storeMessages(session, view.mailbox.id, ranges));

  if (vanished && manager && changedSince !== null) {
    // The set as the client sent it (not clamped to the UIDs still present).
    const requested = set === '$' ? ranges : resolveSequenceSet(set, view.highestUid);
    const inSet = (uid: number): boolean => requested.some((r) => uid >= r.from && uid <= r.to);
    const gone = (await manager.expungedSince(session.user as string, view.mailbox.id, changedSince)).filter(inSet);
    if (gone.length > 0) await session.untagged(`VANISHED (EARLIER) ${formatNumberSet(gone)}`);
  }

  const unavailable: number[] = [];
  for await (const message of source()) {
    const sequence = view.sequenceOf(message.uid);
    // Not announced to this session yet (appended since SELECT/NOOP): invisible.
    if (sequence === null) continue;
    if (changedSince !== null && message.modSeq <= changedSince) continue;
    if (!(await fetchMessage(session, view, sequence, message, items, markSeen))) unavailable.push(message.uid);
    await session.writer.flushIfFull();
  }
  if (unavailable.length > 0) {
    const named = unavailable.slice(0, MAX_UIDS_IN_REPLY).join(',') + (unavailable.length > MAX_UIDS_IN_REPLY ? ',...' : '');
    throw new ImapNoError(`Content of ${unavailable.length} message(s) is unavailable (UID ${named})`, 'SERVERBUG');
  }
  return ok(`${command} completed`);
}

async function* storeMessages(session: ImapSession, mailboxId: string, ranges: readonly { from: number; to: number }[]): AsyncIterable<FetchTarget> {
  for (const range of ranges) yield* session.deps.mailboxes.listMessages(mailboxId, range);
}

/** Whether this user may set \Seen in the selected mailbox: the owner always, others with the `s` right. */
async function maySetSeen(session: ImapSession, view: SelectedMailbox): Promise<boolean> {
  const manager = session.manager;
  const user = session.user as string;
  if (!manager || view.mailbox.owner === user) return true;
  try {
    return (await manager.myRights(user, { owner: view.mailbox.owner, name: view.mailbox.name })).includes('s');
  } catch (err) {
    // Renamed or deleted meanwhile, or no longer visible: no right to change it.
    session.log.debug({ err, mailboxId: view.mailbox.id }, 'FETCH: rights of the selected mailbox unavailable, \\Seen not set');
    return false;
  }
}

/**
 * A section of a MIME part (RFC 3501 §6.4.5) from the stored part offsets: `n` is the part's
 * body, `n.MIME` its header, `n.HEADER`/`n.TEXT`/`n.HEADER.FIELDS` those of an encapsulated
 * message/rfc822. A part that does not exist is empty (as Dovecot answers).
 */
async function partSection(label: string, section: Section, content: MessageContent, partial: ImapPartial | undefined): Promise<BodyPart> {
  const summary = content.summary;
  const found = summary && section.part ? findPart(summary.structure, section.part) : null;
  let range: { start: number; end: number } | null = null;
  if (found) {
    const inner = found.message?.root;
    if (section.type === 'full') range = { start: found.bodyStart, end: found.bodyEnd };
    else if (section.type === 'mime') range = { start: found.headerStart, end: found.bodyStart };
    else if (inner && section.type === 'text') range = { start: inner.bodyStart, end: found.bodyEnd };
    else if (inner) range = { start: inner.headerStart, end: inner.bodyStart };
  }
  if (!range || range.end <= range.start) return { label, length: 0 };
  if (section.type === 'fields') {
    const bytes = window(filterHeaderFields(await content.slice(range.start, range.end), section.names, section.not), partial);
    return { label, length: bytes.length, bytes };
  }
  return content.range(label, range.start, range.end, partial, false);
}

/** A part for BINARY: the part itself, or the single-part message for `[]`/`[1]`. */
function binaryPart(summary: MessageSummary, part: string): MimePart | null {
  const root = summary.structure;
  if (part === '') return root;
  return findPart(root, part);
}

/**
 * RFC 3516 BINARY[part] / BINARY.SIZE[part]: the part's body with its Content-Transfer-Encoding
 * removed. An encoding the server does not know is `NO [UNKNOWN-CTE]`; a multipart or a missing
 * part has no content to decode (empty, as a missing BODY part).
 */
async function binarySection(item: Extract<FetchItem, { kind: 'binary' }>, content: MessageContent): Promise<BodyPart> {
  const summary = content.summary;
  const found = summary ? binaryPart(summary, item.part) : null;
  if (!found || found.children) {
    if (found && item.part === '') {
      // The whole multipart message: nothing to decode.
      const whole = await content.range(item.label, 0, content.message.size, item.partial, false);
      return item.sizeOnly ? { label: item.label, length: 0, bytes: Buffer.from(String(whole.length)) } : whole;
    }
    return item.sizeOnly ? { label: item.label, length: 0, bytes: Buffer.from('0') } : { label: item.label, length: 0, literal8: true };
  }
  if (!isKnownTransferEncoding(found.encoding)) throw new ImapNoError(`Unknown Content-Transfer-Encoding ${found.encoding.slice(0, 40)}`, 'UNKNOWN-CTE');
  // BINARY[] of a single-part message: its header as it is, then the decoded body.
  const headerLength = item.part === '' ? found.bodyStart : 0;
  if (found.bodyEnd - found.bodyStart <= INLINE_BINARY_MAX) {
    const decoded = decodeTransferEncoding(await content.slice(found.bodyStart, found.bodyEnd), found.encoding);
    const bytes = headerLength > 0 ? Buffer.concat([await content.slice(0, headerLength), decoded]) : decoded;
    if (item.sizeOnly) return { label: item.label, length: 0, bytes: Buffer.from(String(bytes.length)) };
    const out = window(bytes, item.partial);
    return { label: item.label, length: out.length, bytes: out, literal8: true };
  }
  // Large part: the decoded size is counted on a first decoding pass (nothing kept), the literal
  // is then streamed from a second one.
  const decodedStream = (): Promise<Readable> => decodedPart(content, found.bodyStart, found.bodyEnd, found.encoding);
  let total = headerLength;
  const counting = await decodedStream();
  try {
    for await (const chunk of counting as AsyncIterable<Buffer>) total += chunk.length;
  } finally {
    counting.destroy();
  }
  if (item.sizeOnly) return { label: item.label, length: 0, bytes: Buffer.from(String(total)) };
  const from = item.partial?.start ?? 0;
  const length = item.partial ? Math.max(0, Math.min(item.partial.length, total - from)) : total;
  if (length === 0) return { label: item.label, length: 0, literal8: true };
  const body = await decodedStream();
  const source = headerLength > 0 ? withHead(await content.open(), headerLength, body) : body;
  return { label: item.label, length, literal8: true, stream: { source, start: from, exact: !item.partial } };
}

/** Bytes `start .. end` of a stream, as they come (the stream is destroyed once they are read). */
async function* byteWindow(stream: Readable, start: number, end: number): AsyncIterable<Buffer> {
  let offset = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const chunkStart = offset;
      offset += chunk.length;
      if (offset <= start) continue;
      yield chunk.subarray(Math.max(0, start - chunkStart), Math.min(chunk.length, end - chunkStart));
      if (offset >= end) return;
    }
    if (offset < end) throw new NotFoundError(`message content ended after ${offset} of ${end} bytes`);
  } finally {
    stream.destroy();
  }
}

/** A part's body with its transfer encoding removed, decoded as it is read (bounded memory). */
async function decodedPart(content: MessageContent, start: number, end: number, encoding: string): Promise<Readable> {
  const decoder = createTransferDecoderStream(encoding);
  // Errors (a blob read failing) reach whoever reads the decoder: pipeline destroys it with them.
  return pipeline(byteWindow(await content.open(), start, end), decoder, () => undefined);
}

/** The first `headerLength` bytes of `whole`, then `body`: BINARY[] of a single-part message. */
function withHead(whole: Readable, headerLength: number, body: Readable): Readable {
  return Readable.from(
    (async function* (): AsyncIterable<Buffer> {
      try {
        yield* byteWindow(whole, 0, headerLength);
        yield* body as AsyncIterable<Buffer>;
      } finally {
        body.destroy();
      }
    })(),
  );
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

async function bodyItem(item: Extract<FetchItem, { kind: 'body' }>, content: MessageContent): Promise<BodyPart> {
  const { section, label, partial } = item;
  const size = content.message.size;
  if (section.part !== undefined) return partSection(label, section, content, partial);
  if (section.type === 'full') return content.range(label, 0, size, partial, true);
  if (section.type === 'text') {
    const headerSize = content.summary?.headerSize ?? (await content.headerBlock()).length;
    return content.range(label, headerSize, size, partial, false);
  }
  const header = await content.headerBlock();
  const bytes = window(section.type === 'fields' ? filterHeaderFields(header, section.names, section.not) : header, partial);
  return { label, length: bytes.length, bytes };
}

/** Queues one `* n FETCH (...)`; false when the message content is missing from the blob store. */
async function fetchMessage(
  session: ImapSession,
  view: SelectedMailbox,
  sequence: number,
  message: FetchTarget,
  items: readonly FetchItem[],
  markSeen: boolean,
): Promise<boolean> {
  const bodies = new Map<FetchItem, BodyPart>();
  const content = new MessageContent(session, message);
  try {
    // Read every body before queueing anything: a missing blob must not leave half a response.
    try {
      for (const item of items) {
        if (item.kind === 'body') bodies.set(item, await bodyItem(item, content));
        else if (item.kind === 'binary') bodies.set(item, await binarySection(item, content));
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
      // Reported in this response: not again as a change at the next NOOP.
      view.forgetFlagChanges([message.uid]);
    }

    const writer = session.writer;
    let text = `* ${sequence} FETCH (`;
    let first = true;
    const add = (piece: string): void => {
      text += first ? piece : ` ${piece}`;
      first = false;
    };
    for (const item of items) {
      switch (item.kind) {
        case 'FLAGS':
          add(`FLAGS ${formatFlags(flags)}`);
          break;
        case 'UID':
          add(`UID ${message.uid}`);
          break;
        case 'RFC822.SIZE':
          add(`RFC822.SIZE ${message.size}`);
          break;
        case 'INTERNALDATE':
          add(`INTERNALDATE ${formatInternalDate(message.internalDate)}`);
          break;
        case 'MODSEQ':
          add(`MODSEQ (${message.modSeq})`);
          break;
        case 'EMAILID':
          add(`EMAILID (${objectId(message.messageId)})`);
          break;
        case 'THREADID':
          add(message.threadId ? `THREADID (${objectId(message.threadId)})` : 'THREADID NIL');
          break;
        case 'ENVELOPE':
          add(message.parsed ? `ENVELOPE ${formatEnvelope(message.parsed.envelope)}` : 'ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
          break;
        case 'BODYSTRUCTURE':
        case 'BODY':
          add(`${item.kind} ${message.parsed ? formatBodyStructure(message.parsed.structure, item.kind === 'BODYSTRUCTURE') : '("text" "plain" NIL NIL NIL "7bit" 0 0)'}`);
          break;
        case 'body':
        case 'binary': {
          const part = bodies.get(item) as BodyPart;
          if (item.kind === 'binary' && item.sizeOnly) {
            add(`${part.label} ${(part.bytes as Buffer).toString('latin1')}`);
            break;
          }
          add(`${part.label} ${part.literal8 ? '~' : ''}{${part.length}}\r\n`);
          if (part.stream) {
            await writer.write(text);
            await writer.pipe(part.stream.source, part.stream.start, part.length, part.stream.exact);
            part.stream = undefined;
          } else {
            writer.push(text);
            if (part.bytes && part.length > 0) writer.push(part.bytes);
          }
          text = '';
          break;
        }
      }
    }
    // RFC 3501 §6.4.5: flags changed by BODY[] SHOULD be part of the response.
    if (flagsChanged && !items.some((item) => item.kind === 'FLAGS')) add(`FLAGS ${formatFlags(flags)}`);
    writer.push(`${text})\r\n`);
    return true;
  } finally {
    for (const part of bodies.values()) part.stream?.source.destroy();
  }
}

export { objectId };

/** RFC 3501 §6.4.5. */
export const fetch: ImapCommand = {
  name: 'FETCH',
  states: ['selected'],
  handler: (context) => runFetch(context, false),
};
