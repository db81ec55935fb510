import { Readable } from 'node:stream';
import { formatBodyStructure, formatEnvelope } from '../../../src/protocols/imap/body-structure';
import { filterHeaderFields, headerEnd, readHeaderBlock } from '../../../src/protocols/imap/message-sections';
import { parseDateTime } from '../../../src/protocols/imap/commands/append';
import type { MimePart } from '../../../src/mime/parsed-message';

describe('message sections', () => {
  const header = Buffer.from('Subject: Hi\r\nX-Long: a\r\n  b\r\nFrom: x@y\r\n\r\n');

  it('finds the end of the header block with CRLF or bare LF, and reads only the header', async () => {
    expect(headerEnd(Buffer.from('A: b\r\n\r\nbody'))).toBe(8);
    expect(headerEnd(Buffer.from('A: b\n\nbody'))).toBe(6);
    expect(headerEnd(Buffer.from('\r\nbody'))).toBe(2);
    expect(headerEnd(Buffer.from('A: b\r\n'))).toBe(-1);
    const chunks = [header.subarray(0, 5), header.subarray(5), Buffer.from('body that is never needed')];
    expect((await readHeaderBlock(Readable.from(chunks))).toString()).toBe(header.toString());
    expect((await readHeaderBlock(Readable.from([Buffer.from('No: blank line')]))).toString()).toBe('No: blank line');
  });

  it('keeps or drops header fields by name, folding kept, blank line added', () => {
    expect(filterHeaderFields(header, ['x-long', 'SUBJECT'], false).toString()).toBe('Subject: Hi\r\nX-Long: a\r\n  b\r\n\r\n');
    expect(filterHeaderFields(header, ['x-long', 'subject'], true).toString()).toBe('From: x@y\r\n\r\n');
    expect(filterHeaderFields(header, ['missing'], false).toString()).toBe('\r\n');
  });

  it('parses APPEND date-times with their zone', () => {
    expect(parseDateTime(' 8-Mar-2024 10:00:00 +0100')?.toISOString()).toBe('2024-03-08T09:00:00.000Z');
    expect(parseDateTime('31-Dec-2023 23:30:00 -0700')?.toISOString()).toBe('2024-01-01T06:30:00.000Z');
    expect(parseDateTime('31-Foo-2023 23:30:00 -0700')).toBeNull();
    expect(parseDateTime('2023-12-31')).toBeNull();
  });
});

describe('ENVELOPE and BODYSTRUCTURE', () => {
  it('defaults Sender and Reply-To to From and writes groups as RFC 3501 says', () => {
    const envelope = formatEnvelope({
      date: null,
      subject: 'Grüße',
      decodedSubject: null,
      from: [{ name: 'A "Q"', address: 'a@x' }],
      sender: [],
      replyTo: [],
      to: [{ group: 'Team', members: [{ name: '', address: 'b@x' }] }],
      cc: [],
      bcc: [],
      inReplyTo: null,
      messageId: '<m@x>',
    });
    const from = '(("A \\"Q\\"" NIL "a" "x"))';
    expect(envelope).toBe(`(NIL {7}\r\nGrüße ${from} ${from} ${from} ((NIL NIL "Team" NIL)(NIL NIL "b" "x")(NIL NIL NIL NIL)) NIL NIL NIL "<m@x>")`);
  });

  it('writes BODY without and BODYSTRUCTURE with extension data', () => {
    const text: MimePart = {
      partId: '1',
      contentType: { type: 'text', subtype: 'plain', params: { charset: 'utf-8' } },
      encoding: 'quoted-printable',
      id: null,
      description: null,
      disposition: { type: 'inline', params: {} },
      language: ['de'],
      location: null,
      md5: null,
      headerStart: 0,
      bodyStart: 10,
      bodyEnd: 20,
      size: 10,
      lines: 2,
    };
    expect(formatBodyStructure(text, false)).toBe('("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 10 2)');
    expect(formatBodyStructure(text, true)).toBe('("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 10 2 NIL ("inline" NIL) ("de") NIL)');
    const multipart: MimePart = { ...text, partId: '', contentType: { type: 'multipart', subtype: 'mixed', params: { boundary: 'b' } }, disposition: null, language: null, children: [text] };
    expect(formatBodyStructure(multipart, false)).toBe('(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 10 2) "mixed")');
  });
});
