import libmime from 'libmime';
import addressparser from 'nodemailer/lib/addressparser';
import type { ContentDisposition, ContentType, Envelope, EnvelopeAddress } from './parsed-message';

/** Values of one header block by lower-case name, unfolded, in order of appearance. */
export type HeaderMap = Map<string, string[]>;

/** Longest header value considered when parsing structured fields (addresses, ids); the rest is ignored. */
export const MAX_PARSED_HEADER_VALUE = 64 * 1024;
/** Addresses kept per address field of an envelope (a header listing more is truncated). */
export const MAX_ENVELOPE_ADDRESSES = 1_000;

/**
 * Parses a header block (RFC 5322 §2.2): lines starting with white space continue the previous
 * field (unfolding removes the line break only). 8-bit bytes are read as UTF-8 (RFC 6532);
 * a line that is not `name: value` is ignored.
 */
export function parseHeaderBlock(block: Buffer): HeaderMap {
  const headers: HeaderMap = new Map();
  const text = block.toString('utf8');
  let name: string | null = null;
  let value = '';
  const flush = (): void => {
    if (name === null) return;
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
    name = null;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.length === 0) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      if (name !== null && value.length < MAX_PARSED_HEADER_VALUE) value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (key.length === 0 || /\s/.test(key)) continue;
    name = key;
    value = line.slice(colon + 1).replace(/^[ \t]+/, '');
  }
  flush();
  return headers;
}

export function firstHeader(headers: HeaderMap, name: string): string | null {
  const values = headers.get(name);
  return values && values.length > 0 ? values[0].trim() : null;
}

export function parseContentType(value: string | null, defaultType: ContentType): ContentType {
  if (!value) return defaultType;
  const parsed = safeParseHeaderValue(value);
  const [type, subtype] = parsed.value.toLowerCase().split('/');
  // RFC 2045 §5.2: a syntactically invalid Content-Type is taken as the default.
  if (!type || !subtype || !/^[a-z0-9!#$&^_.+-]+$/.test(type) || !/^[a-z0-9!#$&^_.+-]+$/.test(subtype)) return defaultType;
  return { type, subtype, params: parsed.params };
}

export function parseDisposition(value: string | null): ContentDisposition | null {
  if (!value) return null;
  const parsed = safeParseHeaderValue(value);
  const type = parsed.value.toLowerCase();
  if (!type) return null;
  return { type, params: parsed.params };
}

function safeParseHeaderValue(value: string): { value: string; params: Record<string, string> } {
  try {
    const parsed = libmime.parseHeaderValue(value.slice(0, MAX_PARSED_HEADER_VALUE));
    const params: Record<string, string> = {};
    for (const [key, param] of Object.entries(parsed.params)) params[key.toLowerCase()] = decodeWords(String(param));
    return { value: String(parsed.value ?? '').trim(), params };
  } catch {
    return { value: value.split(';')[0].trim(), params: {} };
  }
}

/** Decodes RFC 2047 encoded-words; the input is returned when it cannot be decoded. */
export function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

export function parseAddresses(headers: HeaderMap, name: string): EnvelopeAddress[] {
  const values = headers.get(name);
  if (!values) return [];
  const out: EnvelopeAddress[] = [];
  for (const value of values) {
    let parsed: ReturnType<typeof addressparser>;
    try {
      parsed = addressparser(value.slice(0, MAX_PARSED_HEADER_VALUE));
    } catch {
      continue;
    }
    for (const entry of parsed) {
      if (out.length >= MAX_ENVELOPE_ADDRESSES) return out;
      if ('group' in entry) out.push({ group: entry.name, members: entry.group.map((a) => ({ name: a.name, address: a.address })) });
      else out.push({ name: entry.name, address: entry.address });
    }
  }
  return out;
}

/** Message ids of a `Message-ID`/`In-Reply-To`/`References` value, without angle brackets. */
export function parseMessageIds(value: string | null): string[] {
  if (!value) return [];
  const ids = value.slice(0, MAX_PARSED_HEADER_VALUE).match(/<[^<>\s]+>/g);
  if (ids) return ids.map((id) => id.slice(1, -1));
  // Bare ids without brackets (seen in the wild): one token.
  const bare = value.trim();
  return bare && !/\s/.test(bare) ? [bare] : [];
}

export function buildEnvelope(headers: HeaderMap): Envelope {
  const subject = firstHeader(headers, 'subject');
  return {
    date: firstHeader(headers, 'date'),
    subject,
    decodedSubject: subject === null ? null : decodeWords(subject),
    from: parseAddresses(headers, 'from'),
    sender: parseAddresses(headers, 'sender'),
    replyTo: parseAddresses(headers, 'reply-to'),
    to: parseAddresses(headers, 'to'),
    cc: parseAddresses(headers, 'cc'),
    bcc: parseAddresses(headers, 'bcc'),
    inReplyTo: firstHeader(headers, 'in-reply-to'),
    messageId: firstHeader(headers, 'message-id'),
  };
}
