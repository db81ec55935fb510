import type { MessageMetadata } from '../../../src/mailbox/api/mailbox-store';
import { ImapBadError, ImapNoError } from '../../../src/protocols/imap/errors';
import { parseCommand } from '../../../src/protocols/imap/parser';
import { compileSearch, decodeEncodedWords, parseContent } from '../../../src/protocols/imap/search/evaluate';
import { parseSearch } from '../../../src/protocols/imap/search/parse';
import { formatNumberSet, needsContent } from '../../../src/protocols/imap/search/query';

function args(text: string, literals: Buffer[] = []): ReturnType<typeof parseCommand>['args'] {
  // Command lines reach the parser as latin1 (one char per byte), as the framer cuts them.
  const latin1 = Buffer.from(text, 'utf8').toString('latin1');
  const lines = literals.length === 0 ? [`t SEARCH ${latin1}`] : latin1.split('\n').map((line, i) => (i === 0 ? `t SEARCH ${line}` : line));
  return parseCommand({ lines, literals }).args;
}

const meta = (uid: number, flags: string[], size = 100, date = '2024-03-01T10:00:00Z'): MessageMetadata => ({
  mailboxId: 'm',
  uid,
  modSeq: uid * 10,
  messageId: `id${uid}`,
  blobId: 'b',
  size,
  internalDate: new Date(date),
  flags,
});

describe('SEARCH parser', () => {
  it('parses every flag key, including negations and keywords', () => {
    for (const key of ['ANSWERED', 'DELETED', 'DRAFT', 'FLAGGED', 'SEEN']) {
      expect(parseSearch(args(key)).key).toEqual({ type: 'flag', flag: `\\${key[0]}${key.slice(1).toLowerCase()}`, present: true });
      expect(parseSearch(args(`UN${key}`)).key).toMatchObject({ present: false });
    }
    expect(parseSearch(args('KEYWORD $Junk')).key).toEqual({ type: 'flag', flag: '$Junk', present: true });
  });

  it('parses dates, sizes, headers, sets, OR/NOT and groups', () => {
    const { key } = parseSearch(args('OR (SINCE 1-Feb-1994 LARGER 10) NOT HEADER list-id "x" UID 1:* 2,4'));
    expect(key).toEqual({
      type: 'and',
      keys: [
        {
          type: 'or',
          left: {
            type: 'and',
            keys: [
              { type: 'date', field: 'internal', op: 'since', day: '1994-02-01' },
              { type: 'larger', size: 10 },
            ],
          },
          right: { type: 'not', key: { type: 'header', field: 'LIST-ID', value: 'x' } },
        },
        { type: 'uid', set: [{ from: 1, to: '*' }] },
        { type: 'sequence', set: [{ from: 2, to: 2 }, { from: 4, to: 4 }] },
      ],
    });
  });

  it('takes RETURN options and CHARSET before the keys', () => {
    expect(parseSearch(args('RETURN (MIN COUNT) CHARSET utf-8 ALL'))).toEqual({ key: { type: 'all' }, returnOptions: ['MIN', 'COUNT'] });
    expect(parseSearch(args('RETURN () ALL')).returnOptions).toEqual([]);
  });

  it('reads string values from literals as UTF-8', () => {
    const value = Buffer.from('Grüße');
    expect(parseSearch(args(`CHARSET UTF-8 SUBJECT {${value.length}+}\n`, [value])).key).toEqual({ type: 'header', field: 'SUBJECT', value: 'Grüße' });
  });

  it('refuses an unknown charset with NO [BADCHARSET] and bad syntax with BAD', () => {
    expect(() => parseSearch(args('CHARSET BIG5 ALL'))).toThrow(ImapNoError);
    for (const bad of ['', 'NOT', 'OR SEEN', 'LARGER x', 'SINCE 2024-01-01', 'UID 0', 'HEADER "a b" x', 'RETURN (FOO) ALL', '()']) {
      expect(() => parseSearch(args(bad || 'X').slice(bad ? 0 : 1))).toThrow(ImapBadError);
    }
  });

  it('bounds the number of keys, however they nest', () => {
    expect(() => parseSearch(args(`${'NOT '.repeat(1000)}SEEN`))).toThrow(/more than 1000 keys/);
    expect(() => parseSearch(args(`${'OR SEEN '.repeat(999)}SEEN`))).toThrow(/more than 1000 keys/);
    expect(() => parseSearch(args(`${'OR SEEN '.repeat(499)}SEEN`))).not.toThrow();
  });
});

describe('SEARCH evaluation', () => {
  const scope = { exists: 3, highestUid: 9, now: new Date('2024-03-10T00:00:00Z') };
  const match = (query: string, target: Parameters<ReturnType<typeof compileSearch>>[0]): boolean => compileSearch(parseSearch(args(query)).key, scope)(target);

  it('matches flags case-insensitively and resolves * against the view', () => {
    const target = { sequence: 3, message: meta(9, ['\\Seen', '$label']) };
    expect(match('SEEN KEYWORD $Label', target)).toBe(true);
    expect(match('UNSEEN', target)).toBe(false);
    expect(match('*', target)).toBe(true);
    expect(match('UID 5:*', target)).toBe(true);
    expect(match('1:2', target)).toBe(false);
  });

  it('compares dates by day and WITHIN intervals by seconds', () => {
    const target = { sequence: 1, message: meta(1, [], 100, '2024-03-01T23:59:59Z') };
    expect(match('ON 1-Mar-2024', target)).toBe(true);
    expect(match('BEFORE 1-Mar-2024', target)).toBe(false);
    expect(match('SINCE 1-Mar-2024', target)).toBe(true);
    expect(match('OLDER 86400', target)).toBe(true);
    expect(match('YOUNGER 86400', target)).toBe(false);
  });

  it('searches decoded headers, body and text, and knows which keys need the content', () => {
    const content = parseContent(Buffer.from('Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\nFrom: Bob\r\n <bob@example.com>\r\n\r\nBody text here\r\n'));
    const target = { sequence: 1, message: meta(1, []), content };
    expect(match('SUBJECT "café"', target)).toBe(true);
    expect(match('FROM bob@example.com', target)).toBe(true);
    expect(match('BODY "TEXT HERE"', target)).toBe(true);
    expect(match('TEXT "crème"', target)).toBe(true);
    expect(match('HEADER X-Missing ""', target)).toBe(false);
    expect(needsContent(parseSearch(args('SEEN OR UID 1 LARGER 3')).key)).toBe(false);
    expect(needsContent(parseSearch(args('SEEN NOT SENTON 1-Jan-2024')).key)).toBe(true);
  });

  it('decodes B and Q encoded words and leaves unknown charsets alone', () => {
    expect(decodeEncodedWords('=?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?Q?_und_mehr?=')).toBe('Grüße und mehr');
    expect(decodeEncodedWords('=?x-nope?Q?abc?=')).toBe('=?x-nope?Q?abc?=');
  });

  it('formats result sets compactly for ESEARCH ALL', () => {
    expect(formatNumberSet([1, 2, 3, 5, 7, 8])).toBe('1:3,5,7:8');
    expect(formatNumberSet([])).toBe('');
  });
});
