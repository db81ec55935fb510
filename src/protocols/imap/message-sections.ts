import type { Readable } from 'node:stream';

/**
 * Most header bytes read to answer a header section. A header block is rarely above a few KiB;
 * beyond this the rest is taken as body (the message is malformed or hostile).
 */
export const MAX_HEADER_BLOCK = 1024 * 1024;

/**
 * Reads the header block of a message (the empty line ending it included) from the start of its
 * stream, without reading the body. A message without an empty line is all header.
 */
export async function readHeaderBlock(stream: Readable, max = MAX_HEADER_BLOCK): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      const bytes = Buffer.concat(chunks);
      const end = headerEnd(bytes);
      if (end !== -1) return bytes.subarray(0, end);
      if (length >= max) return bytes.subarray(0, max);
      chunks.length = 0;
      chunks.push(bytes);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/** Offset after the empty line ending the header block (CRLF CRLF, or bare LF LF), or -1. */
export function headerEnd(bytes: Buffer): number {
  if (bytes.subarray(0, 2).toString('latin1') === '\r\n') return 2;
  if (bytes[0] === 0x0a) return 1;
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return -1;
  if (crlf !== -1 && (lf === -1 || crlf + 1 <= lf)) return crlf + 4;
  return lf + 2;
}

/** Lower-cased field names of a HEADER.FIELDS list, computed once per list (a range FETCH filters every message with the same list). */
const wantedNames = new WeakMap<readonly string[], ReadonlySet<string>>();

function lowerCased(names: readonly string[]): ReadonlySet<string> {
  let wanted = wantedNames.get(names);
  if (!wanted) {
    wanted = new Set(names.map((n) => n.toLowerCase()));
    wantedNames.set(names, wanted);
  }
  return wanted;
}

/**
 * HEADER.FIELDS / HEADER.FIELDS.NOT (RFC 3501 §6.4.5): the fields named (or all others), as they
 * are in the message (folding kept), followed by the empty line. A field whose last line has no
 * line end gets CRLF. Works on the bytes (no text conversion): the kept fields are copied once.
 */
export function filterHeaderFields(header: Buffer, names: readonly string[], not: boolean): Buffer {
  const wanted = lowerCased(names);
  const kept: Array<[start: number, end: number]> = [];
  let length = 2;
  let field = -1;
  let keep = false;
  const close = (end: number): void => {
    if (field !== -1 && keep) {
      kept.push([field, end]);
      length += end - field + (header[end - 1] === 0x0a ? 0 : 2);
    }
  };
  let at = 0;
  while (at < header.length) {
    const lf = header.indexOf(0x0a, at);
    const end = lf === -1 ? header.length : lf + 1;
    const first = header[at];
    // The empty line ends the block.
    if (first === 0x0a || (first === 0x0d && end - at === 2 && lf !== -1)) break;
    if ((first === 0x20 || first === 0x09) && field !== -1) {
      at = end;
      continue;
    }
    close(at);
    field = at;
    const colon = header.indexOf(0x3a, at);
    const name = colon > at && colon < end ? header.toString('latin1', at, colon).trim().toLowerCase() : '';
    keep = name !== '' && wanted.has(name) !== not;
    at = end;
  }
  close(at);
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const [start, end] of kept) {
    offset += header.copy(out, offset, start, end);
    if (header[end - 1] !== 0x0a) offset += out.write('\r\n', offset, 'latin1');
  }
  out.write('\r\n', offset, 'latin1');
  return out;
}
