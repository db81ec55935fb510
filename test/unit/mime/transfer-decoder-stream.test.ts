import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { decodeTransferEncoding } from '../../../src/protocols/imap/binary';
import { createTransferDecoderStream, MAX_PENDING_LINE } from '../../../src/mime/transfer-decoder-stream';

/** Feeds `bytes` in chunks of the given sizes (cycled) and collects the output. */
async function decodeInChunks(bytes: Buffer, encoding: string, sizes: number[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(createTransferDecoderStream(encoding)) as AsyncIterable<Buffer>) out.push(chunk);
  return Buffer.concat(out);
}

function wrapped(text: string, width: number, eol: string): string {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines.join(eol);
}

const SPLITS = [[1], [2, 3], [7], [76], [77, 1, 3], [1000], [65_536]];

describe('TransferDecoderStream (streamed RFC 2045 decoding)', () => {
  it('decodes base64 exactly as the in-memory decoder, whatever the chunking and line breaks', async () => {
    const data = randomBytes(10_000);
    for (const eol of ['\r\n', '\n']) {
      const encoded = Buffer.from(`${wrapped(data.toString('base64'), 76, eol)}${eol}`);
      for (const sizes of SPLITS) expect(await decodeInChunks(encoded, 'base64', sizes)).toEqual(data);
    }
  });

  it('decodes quoted-printable exactly as the in-memory decoder: soft breaks, escapes and trailing space across chunks', async () => {
    const text = Buffer.from('caf=C3=A9 =3D=\r\n ok  \r\nline two=20\r\nsoft=\nbreak \t\nlast=41=4', 'latin1');
    const expected = decodeTransferEncoding(text, 'quoted-printable');
    for (const sizes of SPLITS) expect(await decodeInChunks(text, 'quoted-printable', sizes)).toEqual(expected);
    expect(expected.toString('latin1')).toContain('\u00c3\u00a9 = ok\r\nline two \r\nsoftbreak\r\nlastA=4');
  });

  it('passes 7bit, 8bit and binary through unchanged (an unknown label too: the caller refuses it first)', async () => {
    const raw = randomBytes(5000);
    for (const encoding of ['7bit', '8bit', 'binary', 'BINARY']) expect(await decodeInChunks(raw, encoding, [333])).toEqual(raw);
  });

  it('keeps a CR at the end of a chunk for the LF of the next one (one CRLF, not a bare CR)', async () => {
    const qp = Buffer.from('a=\r\nb\r\nc');
    expect(await decodeInChunks(qp, 'quoted-printable', [2, 1, 1, 1, 1])).toEqual(decodeTransferEncoding(qp, 'quoted-printable'));
  });

  it('decodes an over-long base64 line (no line breaks at all) without buffering it whole', async () => {
    const data = randomBytes(3 * MAX_PENDING_LINE);
    const encoded = Buffer.from(data.toString('base64'));
    const decoder = createTransferDecoderStream('base64');
    let largest = 0;
    let total = 0;
    const hashes: Buffer[] = [];
    decoder.on('data', (chunk: Buffer) => {
      largest = Math.max(largest, chunk.length);
      total += chunk.length;
      hashes.push(chunk);
    });
    const done = new Promise((resolve) => decoder.on('end', resolve));
    for (let i = 0; i < encoded.length; i += 16 * 1024) decoder.write(encoded.subarray(i, i + 16 * 1024));
    decoder.end();
    await done;
    expect(total).toBe(data.length);
    expect(Buffer.concat(hashes)).toEqual(data);
    // Output comes as the line streams in, in pieces near MAX_PENDING_LINE, never the whole line at once.
    expect(largest).toBeLessThan(MAX_PENDING_LINE);
  });

  it('cuts an over-long quoted-printable line only where decoding is unchanged', async () => {
    // `=3D` escapes and trailing-looking spaces all along one 200 KB line.
    const line = Buffer.from('ab =3Dcd  ef=\t'.repeat(Math.ceil((200 * 1024) / 14)).replace(/=\t/g, '=3D'), 'latin1');
    const expected = decodeTransferEncoding(line, 'quoted-printable');
    for (const sizes of [[4096], [65_537], [100]]) expect(await decodeInChunks(line, 'quoted-printable', sizes)).toEqual(expected);
  });

  it('fails a quoted-printable line that can never be cut (only spaces) past four times the limit, rather than growing', async () => {
    const spaces = Buffer.alloc(5 * MAX_PENDING_LINE, 0x20);
    await expect(decodeInChunks(spaces, 'quoted-printable', [32 * 1024])).rejects.toThrow(/too long/);
  });
});
