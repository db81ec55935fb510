import { formatFlags, formatInternalDate, formatString, formatTagged } from '../../../src/protocols/imap/response';

describe('response formatting', () => {
  it('quotes 7-bit strings with escapes and sends others as literals', () => {
    expect(formatString('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(formatString('')).toBe('""');
    expect(formatString('ü\r\n')).toBe('{4}\r\nü\r\n');
  });

  it('quotes every 7-bit character but NUL, CR and LF, each of which makes a literal', () => {
    expect(formatString('tab\there, DEL \x7f, \x01')).toBe('"tab\there, DEL \x7f, \x01"');
    expect(formatString('plain text')).toBe('"plain text"');
    expect(formatString('nul\0')).toBe('{4}\r\nnul\0');
    expect(formatString('bare\rcr')).toBe('{7}\r\nbare\rcr');
    expect(formatString('bare\nlf')).toBe('{7}\r\nbare\nlf');
    // A non-ASCII character counts by its UTF-8 octets (4 for one outside the BMP), also after an escape.
    expect(formatString('"\u{1F600}"')).toBe('{6}\r\n"\u{1F600}"');
    expect(formatString('\x80')).toBe('{2}\r\n\x80');
  });

  it('leaves out flags that are not atoms', () => {
    expect(formatFlags(['\\Seen', '$Label1', 'bad flag', 'x(y', '\\Answered'])).toBe('(\\Seen $Label1 \\Answered)');
  });

  it('formats INTERNALDATE in UTC', () => {
    expect(formatInternalDate(new Date('1996-07-17T09:44:25Z'))).toBe('"17-Jul-1996 09:44:25 +0000"');
    expect(formatInternalDate(new Date('2024-01-05T00:00:00Z'))).toBe('"05-Jan-2024 00:00:00 +0000"');
  });

  it('keeps control characters of messages out of the tagged line', () => {
    expect(formatTagged('a1', { status: 'NO', code: 'CANNOT', text: 'bad\r\n* OK injected' })).toBe('a1 NO [CANNOT] bad  * OK injected');
  });
});
