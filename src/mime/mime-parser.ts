import type { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { countBase64Chars, createDecoder, type LineDecoder } from './decoders';
import { buildEnvelope, decodeWords, firstHeader, parseContentType, parseDisposition, parseHeaderBlock, parseMessageIds, type HeaderMap } from './headers';
import { htmlToText } from './html-text';
import { PARSED_MESSAGE_VERSION, type AttachmentInfo, type ContentType, type MimePart, type ParsedMessage } from './parsed-message';
import { baseSubject } from './subject';

/** Header bytes of the message kept for HEADER fetches; spam with megabytes of headers is cut here. */
export const MAX_STORED_HEADER_BYTES = 256 * 1024;
/** Header bytes of one body part parsed (Content-* fields are a few hundred bytes in practice). */
export const MAX_PART_HEADER_BYTES = 64 * 1024;
/**
 * Decoded text kept for search per message. James/OpenSearch index the start of long texts only;
 * it also keeps the stored row well under Cassandra's 1 MB cell guidance.
 */
export const MAX_SEARCH_TEXT_BYTES = 512 * 1024;
/** Nesting of multiparts and encapsulated messages followed; deeper parts are kept as opaque leaves. */
export const MAX_MIME_DEPTH = 32;
/** Body parts described per message; the rest of a (hostile) message is kept as the body of the last multipart. */
export const MAX_MIME_PARTS = 1_000;
/** JMAP `preview` (RFC 8621 §4.1.4: at most 256 characters). */
export const PREVIEW_LENGTH = 256;
/**
 * A line longer than this is handled in pieces instead of being buffered whole. It cannot be a
 * boundary (RFC 2046 §5.1.1: boundaries are at most 70 characters), so nothing is lost.
 */
const MAX_LINE_BUFFER = 64 * 1024;
/** Longest line tested as a boundary delimiter: `--` + 70 characters + `--` + transport padding. */
const MAX_BOUNDARY_LINE = 200;

const EMPTY = Buffer.alloc(0);
const TEXT_PLAIN: ContentType = { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } };
const MESSAGE_RFC822: ContentType = { type: 'message', subtype: 'rfc822', params: {} };

interface Leaf {
  /** Decoded text is collected (text/plain or text/html body, not an attachment). */
  collect: boolean;
  html: boolean;
  decoder: LineDecoder;
  chunks: Buffer[];
  bytes: number;
  attachment: AttachmentInfo | null;
  /** Base64 attachment: size counted from the alphabet characters instead of decoding. */
  countOnly: boolean;
  base64Chars: number;
  decodedSize: number;
  pendingContent: Buffer | null;
  pendingEol: Buffer;
}

interface Frame {
  part: MimePart;
  depth: number;
  state: 'header' | 'body';
  headerChunks: Buffer[];
  headerBytes: number;
  headerCap: number;
  /** Section number given to the root part of a message, from the message part that holds it. */
  rootPrefix: string | null;
  /** Default Content-Type of this part (message/rfc822 inside multipart/digest). */
  defaultType: ContentType;
  kind: 'leaf' | 'multipart' | 'message';
  boundary: string | null;
  seenBoundary: boolean;
  ended: boolean;
  lfAtBodyStart: number;
  leaf: Leaf | null;
}

/**
 * Streaming MIME parser (RFC 5322, RFC 2045-2049). Bytes go in chunk by chunk; it keeps one
 * line, the header blocks and the (bounded) search text, never the message. It never throws on
 * malformed input: what it cannot make sense of is described in `summary.defects` and the
 * message stays what it is, byte for byte, in the blob store.
 */
export class MimeParser {
  private readonly stack: Frame[] = [];
  private readonly root: MimePart;
  private rootHeaders: HeaderMap = new Map();
  private storedHeaders: Buffer = EMPTY;
  private readonly attachments: AttachmentInfo[] = [];
  private readonly texts: { text: string; html: boolean }[] = [];
  private textBytes = 0;
  private readonly defects = new Set<string>();
  private parts = 1;

  private carry: Buffer[] = [];
  private carryBytes = 0;
  private inLongLine = false;
  private offset = 0;
  private lfCount = 0;
  private prevEolLength = 0;
  private prevContentLength = 0;
  private currentContentLength = 0;

  constructor() {
    const frame = this.newFrame(0, 0, '', TEXT_PLAIN, MAX_STORED_HEADER_BYTES);
    this.root = frame.part;
    this.stack.push(frame);
  }

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const lf = chunk.indexOf(0x0a, pos);
      if (lf === -1) {
        this.appendCarry(chunk.subarray(pos));
        return;
      }
      let line = chunk.subarray(pos, lf + 1);
      if (this.carryBytes > 0) {
        line = Buffer.concat([...this.carry, line]);
        this.carry = [];
        this.carryBytes = 0;
      }
      const eolLength = line.length >= 2 && line[line.length - 2] === 0x0d ? 2 : 1;
      this.piece(line.subarray(0, line.length - eolLength), line.subarray(line.length - eolLength));
      pos = lf + 1;
    }
  }

  end(): ParsedMessage {
    if (this.carryBytes > 0) {
      const rest = Buffer.concat(this.carry);
      this.carry = [];
      this.carryBytes = 0;
      this.piece(rest, EMPTY);
    }
    const end = this.offset;
    const lastLineOpen = this.prevEolLength === 0;
    while (this.stack.length > 0) {
      const frame = this.stack[this.stack.length - 1];
      if (frame.state === 'header') this.endHeaders(frame, end, this.lfCount, true);
      const lfInBody = this.lfCount - frame.lfAtBodyStart;
      this.close(frame, end, lfInBody + (lastLineOpen && end > frame.part.bodyStart ? 1 : 0), null);
    }
    return this.result();
  }

  private appendCarry(bytes: Buffer): void {
    this.carry.push(bytes);
    this.carryBytes += bytes.length;
    if (this.carryBytes > MAX_LINE_BUFFER) {
      const piece = Buffer.concat(this.carry);
      this.carry = [];
      this.carryBytes = 0;
      this.piece(piece, EMPTY);
    }
  }

  /** One line, or a piece of an over-long line (`eol` empty, more of the line follows). */
  private piece(content: Buffer, eol: Buffer): void {
    const start = this.offset;
    const lineStart = !this.inLongLine;
    const lfBefore = this.lfCount;
    this.offset += content.length + eol.length;
    this.inLongLine = eol.length === 0;
    this.currentContentLength += content.length;
    this.handle(content, eol, start, lineStart, lfBefore);
    if (eol.length > 0) {
      this.lfCount++;
      this.prevContentLength = this.currentContentLength;
      this.currentContentLength = 0;
    }
    this.prevEolLength = eol.length;
  }

  private handle(content: Buffer, eol: Buffer, start: number, lineStart: boolean, lfBefore: number): void {
    if (lineStart && content.length >= 2 && content.length <= MAX_BOUNDARY_LINE && content[0] === 0x2d && content[1] === 0x2d) {
      for (let i = this.stack.length - 1; i >= 0; i--) {
        const frame = this.stack[i];
        if (frame.kind !== 'multipart' || frame.state !== 'body' || frame.boundary === null) continue;
        const match = matchBoundary(content, frame.boundary);
        if (match !== null) {
          this.onBoundary(i, match, start, content.length + eol.length, lfBefore);
          return;
        }
      }
    }
    const top = this.stack[this.stack.length - 1];
    if (top.state === 'header') {
      if (lineStart && content.length === 0 && eol.length > 0) {
        this.collectHeader(top, eol);
        this.endHeaders(top, start + eol.length, lfBefore + 1, false);
      } else {
        this.collectHeader(top, content);
        this.collectHeader(top, eol);
      }
      return;
    }
    const leaf = top.leaf;
    if (leaf === null) return;
    if (leaf.pendingContent !== null) this.feed(leaf, leaf.pendingContent, leaf.pendingEol);
    leaf.pendingContent = content;
    leaf.pendingEol = eol;
  }

  private collectHeader(frame: Frame, bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = frame.headerCap - frame.headerBytes;
    if (room <= 0) {
      this.defects.add('header block too long, truncated');
      return;
    }
    const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
    // A copy: the chunk it points into is reused by the stream.
    frame.headerChunks.push(Buffer.from(kept));
    frame.headerBytes += kept.length;
  }

  private onBoundary(index: number, match: 'open' | 'close', start: number, length: number, lfBefore: number): void {
    const end = start - this.prevEolLength;
    while (this.stack.length - 1 > index) {
      const frame = this.stack[this.stack.length - 1];
      if (frame.state === 'header') this.endHeaders(frame, Math.max(frame.part.headerStart, end), lfBefore, true);
      const bodyEnd = Math.max(end, frame.part.bodyStart);
      const lfInBody = Math.max(0, lfBefore - frame.lfAtBodyStart - (this.prevEolLength > 0 ? 1 : 0));
      this.close(frame, bodyEnd, bodyEnd > frame.part.bodyStart ? lfInBody + (this.prevContentLength > 0 ? 1 : 0) : 0, frame);
    }
    const multipart = this.stack[index];
    if (match === 'close') {
      multipart.ended = true;
      return;
    }
    if (multipart.ended) this.defects.add('body part after the closing boundary');
    multipart.seenBoundary = true;
    if (this.parts >= MAX_MIME_PARTS || multipart.depth + 1 > MAX_MIME_DEPTH) {
      this.defects.add('too many body parts; the rest is not described');
      multipart.boundary = null;
      return;
    }
    const children = multipart.part.children as MimePart[];
    const partId = multipart.part.partId ? `${multipart.part.partId}.${children.length + 1}` : String(children.length + 1);
    const defaultType = multipart.part.contentType.subtype === 'digest' ? MESSAGE_RFC822 : TEXT_PLAIN;
    const child = this.newFrame(start + length, multipart.depth + 1, null, defaultType, MAX_PART_HEADER_BYTES);
    child.part.partId = partId;
    children.push(child.part);
    this.parts++;
    this.stack.push(child);
  }

  private newFrame(headerStart: number, depth: number, rootPrefix: string | null, defaultType: ContentType, headerCap: number): Frame {
    return {
      part: {
        partId: '',
        contentType: defaultType,
        encoding: '7bit',
        id: null,
        description: null,
        disposition: null,
        language: null,
        location: null,
        md5: null,
        headerStart,
        bodyStart: headerStart,
        bodyEnd: headerStart,
        size: 0,
        lines: 0,
      },
      depth,
      state: 'header',
      headerChunks: [],
      headerBytes: 0,
      headerCap,
      rootPrefix,
      defaultType,
      kind: 'leaf',
      boundary: null,
      seenBoundary: false,
      ended: false,
      lfAtBodyStart: 0,
      leaf: null,
    };
  }

  /** The empty line after the headers was reached (or the part ended first: `truncated`). */
  private endHeaders(frame: Frame, bodyStart: number, lfAtBodyStart: number, truncated: boolean): void {
    const block = Buffer.concat(frame.headerChunks);
    frame.headerChunks = [];
    const headers = parseHeaderBlock(block);
    const part = frame.part;
    part.bodyStart = bodyStart;
    frame.state = 'body';
    frame.lfAtBodyStart = lfAtBodyStart;
    part.contentType = parseContentType(firstHeader(headers, 'content-type'), frame.defaultType);
    if (part.contentType.type === 'text' && !part.contentType.params.charset) part.contentType.params.charset = 'us-ascii';
    part.encoding = (firstHeader(headers, 'content-transfer-encoding') ?? '7bit').toLowerCase();
    part.id = firstHeader(headers, 'content-id');
    part.description = firstHeader(headers, 'content-description');
    part.disposition = parseDisposition(firstHeader(headers, 'content-disposition'));
    const language = firstHeader(headers, 'content-language');
    part.language = language
      ? language
          .split(',')
          .map((l) => l.trim())
          .filter((l) => l.length > 0)
      : null;
    part.location = firstHeader(headers, 'content-location');
    part.md5 = firstHeader(headers, 'content-md5');
    if (frame === this.stack[0]) {
      this.rootHeaders = headers;
      this.storedHeaders = block;
      if (truncated && bodyStart > 0) this.defects.add('no empty line after the headers');
    }
    if (frame !== this.stack[0] && frame.rootPrefix !== null) {
      // The root of an encapsulated message: its headers are the envelope of the message part holding it.
      const holder = this.stack[this.stack.indexOf(frame) - 1];
      if (holder?.part.message) holder.part.message.envelope = buildEnvelope(headers);
    }
    if (frame.rootPrefix !== null) part.partId = part.contentType.type === 'multipart' ? frame.rootPrefix : frame.rootPrefix ? `${frame.rootPrefix}.1` : '1';

    const { type, subtype, params } = part.contentType;
    const opaque = ['7bit', '8bit', 'binary'].includes(part.encoding);
    if (!truncated && type === 'multipart' && frame.depth < MAX_MIME_DEPTH) {
      const boundary = params.boundary;
      if (boundary && boundary.length <= 200) {
        frame.kind = 'multipart';
        frame.boundary = boundary;
        part.children = [];
        return;
      }
      this.defects.add(`multipart without a boundary (part ${part.partId || 'root'})`);
    }
    if (!truncated && type === 'message' && (subtype === 'rfc822' || subtype === 'global') && opaque && frame.depth < MAX_MIME_DEPTH && this.parts < MAX_MIME_PARTS) {
      frame.kind = 'message';
      const nested = this.newFrame(bodyStart, frame.depth + 1, part.partId, TEXT_PLAIN, MAX_PART_HEADER_BYTES);
      this.parts++;
      part.message = { envelope: buildEnvelope(new Map()), root: nested.part };
      this.stack.push(nested);
      this.addAttachment(part, null);
      return;
    }
    const isTextBody = type === 'text' && (subtype === 'plain' || subtype === 'html') && part.disposition?.type !== 'attachment';
    const leaf: Leaf = {
      collect: isTextBody,
      html: subtype === 'html',
      decoder: createDecoder(part.encoding),
      chunks: [],
      bytes: 0,
      attachment: null,
      countOnly: !isTextBody && part.encoding === 'base64',
      base64Chars: 0,
      decodedSize: 0,
      pendingContent: null,
      pendingEol: EMPTY,
    };
    if (!isTextBody && !(type === 'multipart')) leaf.attachment = this.addAttachment(part, 0);
    frame.leaf = leaf;
  }

  private addAttachment(part: MimePart, size: number | null): AttachmentInfo {
    const name = part.disposition?.params.filename ?? part.contentType.params.name ?? null;
    const attachment: AttachmentInfo = {
      partId: part.partId,
      contentType: `${part.contentType.type}/${part.contentType.subtype}`,
      name: name === null ? null : decodeWords(name),
      disposition: part.disposition?.type ?? null,
      cid: part.id ? part.id.replace(/^<|>$/g, '') : null,
      size: size ?? 0,
    };
    this.attachments.push(attachment);
    return attachment;
  }

  private feed(leaf: Leaf, content: Buffer, eol: Buffer): void {
    if (leaf.countOnly) {
      leaf.base64Chars += countBase64Chars(content);
      return;
    }
    if (!leaf.collect) {
      leaf.decodedSize += leaf.decoder.line(content, eol).length;
      return;
    }
    const decoded = leaf.decoder.line(content, eol);
    leaf.decodedSize += decoded.length;
    const room = MAX_SEARCH_TEXT_BYTES - this.textBytes - leaf.bytes;
    if (room <= 0) return;
    const kept = decoded.length <= room ? decoded : decoded.subarray(0, room);
    leaf.chunks.push(Buffer.from(kept));
    leaf.bytes += kept.length;
  }

  /** Ends a part at `end`; `boundaryOf` is set when a boundary ended it (its line break belongs to the boundary). */
  private close(frame: Frame, end: number, lines: number, boundaryOf: Frame | null): void {
    this.stack.pop();
    const part = frame.part;
    part.bodyEnd = Math.max(end, part.bodyStart);
    part.size = part.bodyEnd - part.bodyStart;
    part.lines = lines;
    if (frame.kind === 'multipart' && (!frame.seenBoundary || !frame.ended)) {
      this.defects.add(frame.seenBoundary ? 'multipart not terminated by its closing boundary' : 'multipart without any body part');
    }
    if (frame.kind === 'message' && part.message) {
      const attachment = this.attachments.find((a) => a.partId === part.partId && a.contentType === `${part.contentType.type}/${part.contentType.subtype}`);
      if (attachment) attachment.size = part.size;
    }
    const leaf = frame.leaf;
    if (leaf) {
      if (leaf.pendingContent !== null) this.feed(leaf, leaf.pendingContent, boundaryOf ? EMPTY : leaf.pendingEol);
      leaf.pendingContent = null;
      if (leaf.countOnly) {
        const padding = leaf.base64Chars % 4;
        leaf.decodedSize = Math.floor(leaf.base64Chars / 4) * 3 + (padding > 1 ? padding - 1 : 0);
      } else {
        const tail = leaf.decoder.end();
        leaf.decodedSize += tail.length;
        if (leaf.collect && tail.length > 0) leaf.chunks.push(tail);
      }
      if (leaf.attachment) leaf.attachment.size = leaf.decodedSize;
      if (leaf.collect && leaf.chunks.length > 0) {
        const text = decodeCharset(Buffer.concat(leaf.chunks), part.contentType.params.charset);
        this.textBytes += leaf.bytes;
        this.texts.push({ text: leaf.html ? htmlToText(text) : text, html: leaf.html });
      }
      leaf.chunks = [];
    }
  }

  private result(): ParsedMessage {
    const envelope = buildEnvelope(this.rootHeaders);
    const plain = this.texts.find((t) => !t.html) ?? this.texts[0];
    // Only the start is looked at: collapsing white space over a whole long text costs milliseconds.
    const preview = plain ? plain.text.slice(0, PREVIEW_LENGTH * 8).replace(/\s+/g, ' ').trim().slice(0, PREVIEW_LENGTH) : '';
    const threading = {
      messageId: parseMessageIds(envelope.messageId)[0] ?? null,
      inReplyTo: parseMessageIds(envelope.inReplyTo),
      references: parseMessageIds(firstHeader(this.rootHeaders, 'references')),
      baseSubject: baseSubject(envelope.decodedSubject),
    };
    return {
      summary: {
        version: PARSED_MESSAGE_VERSION,
        size: this.offset,
        headerSize: this.root.bodyStart,
        envelope,
        structure: this.root,
        attachments: this.attachments,
        hasAttachment: this.attachments.some((a) => a.disposition === 'attachment' || a.cid === null),
        preview,
        threading,
        defects: [...this.defects],
      },
      headers: this.storedHeaders,
      text: this.texts.map((t) => t.text).join('\n'),
    };
  }
}

function matchBoundary(content: Buffer, boundary: string): 'open' | 'close' | null {
  const length = 2 + Buffer.byteLength(boundary);
  if (content.length < length || content.toString('latin1', 2, length) !== boundary) {
    return null;
  }
  // RFC 2046 §5.1.1: transport padding (white space) may follow the delimiter.
  const rest = content.toString('latin1', length);
  if (/^[ \t]*$/.test(rest)) return 'open';
  if (/^--[ \t]*$/.test(rest)) return 'close';
  return null;
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const name = (charset ?? 'utf-8').trim().toLowerCase();
  if (name === 'utf-8' || name === 'utf8' || name === 'us-ascii' || name === 'ascii') return bytes.toString('utf8');
  try {
    if (iconv.encodingExists(name)) return iconv.decode(bytes, name);
  } catch {
    // An unknown or broken charset: read as UTF-8 below.
  }
  return bytes.toString('utf8');
}

/** Parses a whole message from a stream or buffer; never rejects on malformed MIME (only on a failing stream). */
export async function parseMessage(source: Readable | Buffer | AsyncIterable<Buffer>): Promise<ParsedMessage> {
  const parser = new MimeParser();
  if (Buffer.isBuffer(source)) {
    parser.write(source);
  } else {
    for await (const chunk of source as AsyncIterable<Buffer | string>) parser.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return parser.end();
}
