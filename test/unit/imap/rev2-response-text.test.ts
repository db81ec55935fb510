import { formatTagged } from '../../../src/protocols/imap/response';

/** RFC 9051 Appendix E item 24: UTF-8 in resp-text only after ENABLE IMAP4rev2 (RFC 3501 TEXT-CHAR is 7-bit). */
describe('tagged response text before and after ENABLE IMAP4rev2', () => {
  it('writes non-ASCII runs in modified UTF-7 for an IMAP4rev1 client', () => {
    expect(formatTagged('a1', { status: 'NO', code: 'NONEXISTENT', text: 'Mailbox Entwürfe does not exist' }, true)).toBe('a1 NO [NONEXISTENT] Mailbox Entw&APw-rfe does not exist');
    // Characters outside the BMP travel as UTF-16 surrogate pairs, as in mailbox names (RFC 3501 §5.1.3).
    expect(formatTagged('a2', { status: 'NO', text: '日本 and 😀' }, true)).toBe('a2 NO &ZeVnLA- and &2D3eAA-');
  });

  it('keeps UTF-8 for an IMAP4rev2 client and leaves ASCII text alone either way', () => {
    expect(formatTagged('a1', { status: 'NO', text: 'Mailbox Entwürfe does not exist' })).toBe('a1 NO Mailbox Entwürfe does not exist');
    expect(formatTagged('a2', { status: 'OK', code: 'READ-WRITE', text: 'SELECT & co completed' }, true)).toBe('a2 OK [READ-WRITE] SELECT & co completed');
  });

  it('still neutralizes control characters (no response injection) when encoding', () => {
    expect(formatTagged('a1', { status: 'BAD', text: 'bad\r\n* OK ü' }, true)).toBe('a1 BAD bad  * OK &APw-');
  });
});
