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

/**
 * HEADER.FIELDS / HEADER.FIELDS.NOT (RFC 3501 §6.4.5): the fields named (or all others), as they
 * are in the message (folding kept), followed by the empty line.
 */
export function filterHeaderFields(header: Buffer, names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const text = header.toString('latin1');
  const out: string[] = [];
  let current: string | null = null;
  let keep = false;
  const flush = (): void => {
    if (current !== null && keep) out.push(current);
    current = null;
  };
  for (const line of text.split(/(?<=\n)/)) {
    if (line === '\r\n' || line === '\n') break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && current !== null) {
      current += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    keep = name !== '' && wanted.has(name) !== not;
    current = line.endsWith('\n') ? line : `${line}\r\n`;
  }
  flush();
  return Buffer.from(`${out.join('')}\r\n`, 'latin1');
}
