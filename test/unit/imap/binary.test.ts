import { decodeTransferEncoding, isKnownTransferEncoding } from '../../../src/protocols/imap/binary';

describe('BINARY transfer decoding (RFC 3516)', () => {
  it('decodes base64 across lines, ignoring characters outside the alphabet', () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);
    const encoded = bytes.toString('base64');
    const wrapped = Buffer.from(`${encoded.slice(0, 4)}\r\n${encoded.slice(4, 8)}!\r\n${encoded.slice(8)}\r\n`);
    expect(decodeTransferEncoding(wrapped, 'BASE64')).toEqual(bytes);
  });

  it('decodes quoted-printable with soft line breaks and keeps hard ones', () => {
    expect(decodeTransferEncoding(Buffer.from('caf=C3=A9 =3D=\r\n ok\r\nnext'), 'quoted-printable').toString('utf8')).toBe('café = ok\r\nnext');
  });

  it('passes 7bit, 8bit and binary through unchanged', () => {
    const raw = Buffer.from([0x80, 0x0d, 0x0a, 0x00]);
    for (const encoding of ['7bit', '8bit', 'binary']) expect(decodeTransferEncoding(raw, encoding)).toBe(raw);
  });

  it('knows the five RFC 2045 encodings and nothing else', () => {
    expect(['7bit', '8bit', 'binary', 'base64', 'Quoted-Printable'].every(isKnownTransferEncoding)).toBe(true);
    expect(isKnownTransferEncoding('x-uuencode')).toBe(false);
  });
});
