import { Readable } from 'node:stream';
import { MAIL_BUCKET, type BlobStore } from '../blob/api/blob-store';
import { MAX_STORED_HEADER_BYTES, MimeParser } from '../mime/mime-parser';
import type { MimePart, ParsedMessage } from '../mime/parsed-message';
import { MailboxLimitError } from './api/errors';

/**
 * Longest per-copy header prefix. A prefix holds a few trace fields (`Delivered-To`, `Received`,
 * `X-Spam-*` of one recipient): 8 KiB is far above that, and it is stored in every message row
 * (kept small so a mailbox page of rows stays small on both adapters).
 */
export const MAX_HEADER_PREFIX_BYTES = 8 * 1024;

/**
 * Fields that change what the parse of a message says about it (its MIME structure, envelope and
 * threading: the parser reads the first occurrence of each). A prefix holding one of them is
 * accepted, but the copy is then parsed whole instead of deriving its parse from the shared blob.
 */
const PARSED_FIELDS = new Set([
  'mime-version',
  'date',
  'subject',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'in-reply-to',
  'message-id',
  'references',
]);

/** RFC 5322 §3.6.8 field name: printable ASCII except colon. */
const FIELD_LINE = /^[!-9;-~]+:/;

/** What a reader needs to compose a message's content: its blob and, for a per-copy message, its prefix. */
export interface ContentRef {
  blobId: string;
  headerPrefix?: Buffer;
}

/**
 * Checks a per-copy header prefix: whole header field lines, each ending with CRLF, folded lines
 * starting with white space, no empty line (it would end the header section), no bare CR/LF, at
 * most MAX_HEADER_PREFIX_BYTES. Throws MailboxLimitError (an InvalidInputError) otherwise.
 */
export function validateHeaderPrefix(prefix: unknown): Buffer {
  if (!Buffer.isBuffer(prefix)) throw new MailboxLimitError('A header prefix must be bytes');
  if (prefix.length === 0) throw new MailboxLimitError('A header prefix must not be empty');
  if (prefix.length > MAX_HEADER_PREFIX_BYTES) throw new MailboxLimitError(`A header prefix holds at most ${MAX_HEADER_PREFIX_BYTES} octets`);
  if (prefix.length < 2 || prefix[prefix.length - 2] !== 0x0d || prefix[prefix.length - 1] !== 0x0a) {
    throw new MailboxLimitError('A header prefix must end with CRLF');
  }
  const lines = prefix.toString('latin1').slice(0, -2).split('\r\n');
  lines.forEach((line, i) => {
    if (/[\r\n\0]/.test(line)) throw new MailboxLimitError('A header prefix must not hold a bare CR, LF or NUL');
    if (line.length === 0) throw new MailboxLimitError('A header prefix must not hold an empty line');
    if (line[0] === ' ' || line[0] === '\t') {
      if (i === 0) throw new MailboxLimitError('A header prefix must start with a field, not a continuation line');
      if (line.trim().length === 0) throw new MailboxLimitError('A header prefix must not hold a line of white space only');
      return;
    }
    if (!FIELD_LINE.test(line)) throw new MailboxLimitError(`A header prefix line is not a header field: ${JSON.stringify(line.slice(0, 40))}`);
  });
  return prefix;
}

/** Octets the prefix adds to the message. */
export function prefixLength(message: { headerPrefix?: Buffer }): number {
  return message.headerPrefix?.length ?? 0;
}

/** The whole message content (prefix + blob) as a stream. Rejects with NotFoundError when the blob is missing. */
export async function openMessageContent(blobs: BlobStore, message: ContentRef): Promise<Readable> {
  const body = await blobs.read(MAIL_BUCKET, message.blobId);
  const prefix = message.headerPrefix;
  if (!prefix || prefix.length === 0) return body;
  return Readable.from(prefixed(prefix, body), { objectMode: false });
}

/** The whole message content (prefix + blob) in memory. */
export async function readMessageBytes(blobs: BlobStore, message: ContentRef): Promise<Buffer> {
  return composeContent(message, await blobs.readBytes(MAIL_BUCKET, message.blobId));
}

/** Prefix + blob bytes already read. */
export function composeContent(message: { headerPrefix?: Buffer }, blobBytes: Buffer): Buffer {
  const prefix = message.headerPrefix;
  return prefix && prefix.length > 0 ? Buffer.concat([prefix, blobBytes]) : blobBytes;
}

async function* prefixed(prefix: Buffer, body: Readable): AsyncGenerator<Buffer> {
  let done = false;
  try {
    yield prefix;
    for await (const chunk of body) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    done = true;
  } finally {
    if (!done) body.destroy();
  }
}

/**
 * The parse of `prefix + blob` derived from the parse of the blob alone, without reading it again:
 * the prefix joins the stored header block and every offset but the first header's moves by its
 * length. Null when the derivation would not be exact — the prefix names a field the parse reads
 * (PARSED_FIELDS, Content-*), the blob starts with white space (its first line would continue the
 * prefix's last field) or its header block was cut at MAX_STORED_HEADER_BYTES — and the copy must
 * be parsed whole (`parseWithPrefix`).
 */
export function deriveWithPrefix(parsed: ParsedMessage, prefix: Buffer): ParsedMessage | null {
  if (!prefixIsTransparent(prefix)) return null;
  const { summary, headers } = parsed;
  if (headers.length !== summary.headerSize || headers.length + prefix.length > MAX_STORED_HEADER_BYTES) return null;
  if (headers.length > 0 && (headers[0] === 0x20 || headers[0] === 0x09)) return null;
  const shift = prefix.length;
  return {
    summary: { ...summary, size: summary.size + shift, headerSize: summary.headerSize + shift, structure: shiftPart(summary.structure, shift, true) },
    headers: Buffer.concat([prefix, headers]),
    text: parsed.text,
  };
}

/** Parses `prefix + blob` whole, streaming the blob (the slow path of `deriveWithPrefix`). */
export async function parseWithPrefix(blobs: BlobStore, message: ContentRef): Promise<ParsedMessage> {
  const stream = await openMessageContent(blobs, message);
  const parser = new MimeParser();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) parser.write(chunk);
  } finally {
    stream.destroy();
  }
  return parser.end();
}

/** True when no field of the prefix is one the parser reads from the top-level header block. */
function prefixIsTransparent(prefix: Buffer): boolean {
  for (const line of prefix.toString('latin1').split('\r\n')) {
    if (line.length === 0 || line[0] === ' ' || line[0] === '\t') continue;
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    if (PARSED_FIELDS.has(name) || name.startsWith('content-')) return false;
  }
  return true;
}

function shiftPart(part: MimePart, shift: number, root: boolean): MimePart {
  const shifted: MimePart = {
    ...part,
    // The prefix is the first header line: the root part's header still starts at 0.
    headerStart: root ? part.headerStart : part.headerStart + shift,
    bodyStart: part.bodyStart + shift,
    bodyEnd: part.bodyEnd + shift,
  };
  if (part.children) shifted.children = part.children.map((child) => shiftPart(child, shift, false));
  if (part.message) shifted.message = { envelope: part.message.envelope, root: shiftPart(part.message.root, shift, false) };
  return shifted;
}
