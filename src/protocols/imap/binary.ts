import { createDecoder } from '../../mime/decoders';

/** Content-Transfer-Encodings BINARY (RFC 3516) can remove; others get `NO [UNKNOWN-CTE]`. */
const KNOWN_ENCODINGS = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable']);

export function isKnownTransferEncoding(encoding: string): boolean {
  return KNOWN_ENCODINGS.has(encoding.toLowerCase());
}

/** The bytes of a part body with its Content-Transfer-Encoding removed (identity for 7bit/8bit/binary). */
export function decodeTransferEncoding(encoded: Buffer, encoding: string): Buffer {
  const kind = encoding.toLowerCase();
  if (kind !== 'base64' && kind !== 'quoted-printable') return encoded;
  const decoder = createDecoder(kind);
  const out: Buffer[] = [];
  let start = 0;
  while (start < encoded.length) {
    const lf = encoded.indexOf(0x0a, start);
    const end = lf === -1 ? encoded.length : lf + 1;
    const lineEnd = lf === -1 ? end : end > start + 1 && encoded[lf - 1] === 0x0d ? lf - 1 : lf;
    out.push(decoder.line(encoded.subarray(start, lineEnd), encoded.subarray(lineEnd, end)));
    start = end;
  }
  out.push(decoder.end());
  return Buffer.concat(out);
}
