import libmime from 'libmime';
import { HeaderSection } from './header-section';

/** Nesting bound of multiparts (a hostile message could nest without end). */
export const MAX_MIME_DEPTH = 32;

export interface ContentType {
  type: string;
  subtype: string;
  params: Record<string, string>;
}

/** One MIME entity with byte offsets into the whole message. */
export interface MimePart {
  headers: HeaderSection;
  contentType: ContentType;
  /** Content-Disposition type (`attachment`, `inline`) or null. */
  disposition: string | null;
  filename: string | null;
  transferEncoding: string;
  bodyStart: number;
  bodyEnd: number;
  children: MimePart[];
}

const DEFAULT_TYPE: ContentType = { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } };
const DIGEST_DEFAULT: ContentType = { type: 'message', subtype: 'rfc822', params: {} };

export function parseContentType(value: string | null, fallback: ContentType = DEFAULT_TYPE): ContentType {
  if (!value) return fallback;
  const parsed = libmime.parseHeaderValue(value);
  const [type, subtype] = String(parsed.value).toLowerCase().split('/');
  if (!type || !subtype) return fallback;
  return { type: type.trim(), subtype: subtype.trim(), params: parsed.params as Record<string, string> };
}

/** Parses the MIME structure of a message (RFC 2045/2046); malformed parts degrade to leaves. */
export function parseMimeTree(message: Buffer): MimePart {
  return parsePart(message, 0, message.length, DEFAULT_TYPE, 0);
}

function parsePart(message: Buffer, start: number, end: number, fallback: ContentType, depth: number): MimePart {
  const slice = message.subarray(start, end);
  let headerEnd = -1;
  let bodyOffset = 0;
  if (slice.subarray(0, 2).toString() === '\r\n' || slice.subarray(0, 1).toString() === '\n') {
    headerEnd = 0;
    bodyOffset = slice[0] === 0x0d ? 2 : 1;
  } else {
    const crlf = slice.indexOf('\r\n\r\n');
    const lf = slice.indexOf('\n\n');
    if (crlf >= 0 && (lf < 0 || crlf < lf)) [headerEnd, bodyOffset] = [crlf + 2, crlf + 4];
    else if (lf >= 0) [headerEnd, bodyOffset] = [lf + 1, lf + 2];
    else [headerEnd, bodyOffset] = [slice.length, slice.length];
  }
  const headers = HeaderSection.parse(slice.subarray(0, headerEnd));
  const contentType = parseContentType(headers.get('content-type'), fallback);
  const dispositionValue = headers.get('content-disposition');
  const disposition = dispositionValue ? libmime.parseHeaderValue(dispositionValue) : null;
  const part: MimePart = {
    headers,
    contentType,
    disposition: disposition ? String(disposition.value).toLowerCase() : null,
    filename: (disposition?.params as Record<string, string> | undefined)?.filename ?? contentType.params.name ?? null,
    transferEncoding: (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase(),
    bodyStart: start + bodyOffset,
    bodyEnd: end,
    children: [],
  };
  const boundary = contentType.params.boundary;
  if (contentType.type === 'multipart' && boundary && depth < MAX_MIME_DEPTH) {
    const childFallback = contentType.subtype === 'digest' ? DIGEST_DEFAULT : DEFAULT_TYPE;
    for (const [childStart, childEnd] of multipartBodies(message, part.bodyStart, end, boundary)) {
      part.children.push(parsePart(message, childStart, childEnd, childFallback, depth + 1));
    }
  }
  return part;
}

/** Byte ranges of the body parts between `--boundary` delimiter lines (RFC 2046 §5.1.1). */
function multipartBodies(message: Buffer, start: number, end: number, boundary: string): Array<[number, number]> {
  const delimiter = Buffer.from('--' + boundary);
  const ranges: Array<[number, number]> = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const found = message.indexOf(delimiter, pos);
    if (found < 0 || found >= end) break;
    const atLineStart = found === start || message[found - 1] === 0x0a;
    if (!atLineStart) {
      pos = found + delimiter.length;
      continue;
    }
    if (partStart >= 0) {
      // The line break before the delimiter belongs to the delimiter.
      let partEnd = found;
      if (message[partEnd - 1] === 0x0a) partEnd--;
      if (message[partEnd - 1] === 0x0d) partEnd--;
      ranges.push([partStart, Math.max(partStart, partEnd)]);
    }
    const closing = message.subarray(found + delimiter.length, found + delimiter.length + 2).toString() === '--';
    if (closing) return ranges;
    const lineEnd = message.indexOf('\n', found);
    if (lineEnd < 0 || lineEnd >= end) break;
    partStart = lineEnd + 1;
    pos = partStart;
  }
  return ranges;
}

/** Every part of the tree, depth first. */
export function allParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [root];
  for (const child of root.children) out.push(...allParts(child));
  return out;
}

/** True for parts James counts as attachments: `Content-Disposition: attachment`, or a named non-text leaf. */
export function isAttachment(part: MimePart): boolean {
  if (part.children.length > 0) return false;
  if (part.disposition === 'attachment') return true;
  return part.filename !== null && part.disposition !== 'inline';
}
