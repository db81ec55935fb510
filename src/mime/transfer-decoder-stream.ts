import { Transform, type TransformCallback } from 'node:stream';
import { createDecoder, type LineDecoder } from './decoders';

/**
 * A line longer than this is decoded in pieces rather than buffered whole: a base64 or
 * quoted-printable body written as one huge line (no line breaks, which RFC 2045 forbids but
 * real mail has) must not hold the whole part in memory.
 */
export const MAX_PENDING_LINE = 64 * 1024;

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const LF = Buffer.from('\n');

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09;
}

/**
 * Where a quoted-printable line may be cut without changing its decoding: after a byte that is
 * neither white space (trailing white space of a line is dropped, RFC 2045 §6.7 rule 3) nor part
 * of an `=XX` escape or a soft line break. -1 when there is no such place.
 */
function quotedPrintableCut(line: Buffer): number {
  for (let end = line.length; end > 0; end--) {
    const last = line[end - 1];
    if (isSpace(last) || last === 0x3d) continue;
    if (end >= 2 && line[end - 2] === 0x3d) continue;
    if (end >= 3 && line[end - 3] === 0x3d) continue;
    return end;
  }
  return -1;
}

/**
 * Removes a Content-Transfer-Encoding (RFC 2045 §6.7 quoted-printable, §6.8 base64; identity for
 * 7bit/8bit/binary) as the bytes stream through: it holds at most one line (bounded by
 * MAX_PENDING_LINE) and the decoder's few carried characters, whatever the size of the part.
 * Gives the same bytes as decoding the whole body with `createDecoder` line by line.
 */
export class TransferDecoderStream extends Transform {
  private readonly decoder: LineDecoder;
  private readonly kind: string;
  private pending: Buffer = EMPTY;

  constructor(encoding: string) {
    super();
    this.kind = encoding.toLowerCase();
    this.decoder = createDecoder(this.kind);
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      if (this.kind !== 'base64' && this.kind !== 'quoted-printable') {
        // Identity: nothing to decode, no copy.
        if (bytes.length > 0) this.push(bytes);
        callback();
        return;
      }
      const data = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
      let start = 0;
      for (let lf = data.indexOf(0x0a, start); lf !== -1; lf = data.indexOf(0x0a, start)) {
        const crlf = lf > start && data[lf - 1] === 0x0d;
        this.emit_(data.subarray(start, crlf ? lf - 1 : lf), crlf ? CRLF : LF);
        start = lf + 1;
      }
      this.pending = data.subarray(start);
      if (this.pending.length > MAX_PENDING_LINE) this.splitLongLine();
      // A copy: the pending bytes must not pin the (possibly large) chunk they came from.
      if (this.pending.length > 0 && this.pending.buffer === data.buffer) this.pending = Buffer.from(this.pending);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.pending.length > 0) {
        // A trailing CR belongs to no line break that came: the last line of the body.
        const last = this.pending;
        this.pending = EMPTY;
        this.emit_(last, EMPTY);
      }
      const rest = this.decoder.end();
      if (rest.length > 0) this.push(rest);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private emit_(content: Buffer, eol: Buffer): void {
    const out = this.decoder.line(content, eol);
    if (out.length > 0) this.push(out);
  }

  /** Decodes the head of an over-long pending line now, keeping only what cannot be cut yet. */
  private splitLongLine(): void {
    const line = this.pending;
    // A CR at the end may be the first half of a CRLF still to come.
    const usable = line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
    // base64 ignores line boundaries (the decoder carries incomplete quads); quoted-printable
    // needs a cut that changes nothing.
    const cut = this.kind === 'base64' ? usable.length : quotedPrintableCut(usable);
    if (cut <= 0) {
      if (line.length > 4 * MAX_PENDING_LINE) throw new Error('quoted-printable line too long to decode');
      return;
    }
    this.emit_(usable.subarray(0, cut), EMPTY);
    this.pending = line.subarray(cut);
  }
}

/** A stream removing `encoding` from the bytes written to it. */
export function createTransferDecoderStream(encoding: string): TransferDecoderStream {
  return new TransferDecoderStream(encoding);
}
