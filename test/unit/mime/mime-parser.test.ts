import { Readable } from 'node:stream';
import { MAX_MIME_PARTS, MAX_SEARCH_TEXT_BYTES, MAX_STORED_HEADER_BYTES, MimeParser, parseMessage } from '../../../src/mime/mime-parser';
import type { MimePart } from '../../../src/mime/parsed-message';
import { baseSubject } from '../../../src/mime/subject';

const CRLF = '\r\n';

function lines(...parts: string[]): Buffer {
  return Buffer.from(parts.join(CRLF));
}

/** Parses the bytes fed in chunks of `size` octets (splitting lines, CRLFs and multi-byte characters). */
function parseInChunks(bytes: Buffer, size: number) {
  const parser = new MimeParser();
  for (let i = 0; i < bytes.length; i += size) parser.write(bytes.subarray(i, i + size));
  return parser.end();
}

function section(bytes: Buffer, part: MimePart): string {
  return bytes.subarray(part.bodyStart, part.bodyEnd).toString('latin1');
}

const MULTIPART = lines(
  'From: =?utf-8?q?J=C3=B6rg?= <joerg@example.net>',
  'To: Team: alice@example.com, "Bob B." <bob@example.com>;, carol@example.com',
  'Subject: Re: [list] Fwd: Quarterly report (fwd)',
  'Message-ID: <r2@example.net>',
  'In-Reply-To: <r1@example.net>',
  'References: <root@example.net>',
  '  <r1@example.net>',
  'Date: Mon, 1 Jul 2024 10:00:00 +0200',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'This is the preamble.',
  '--outer',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=FC=DFe aus K=F6ln,=',
  ' soft break',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hello <b>HTML</b> &amp; friends</p><script>var x=1;</script>',
  '--inner--',
  '--outer',
  'Content-Type: application/pdf; name="r.pdf"',
  "Content-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf",
  'Content-Transfer-Encoding: base64',
  'Content-ID: <pdf1@x>',
  '',
  'JVBERi0xLjQK',
  'AAECAw==',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  'Subject: inner message',
  'From: x@example.org',
  '',
  'inner body',
  '--outer--',
  'epilogue',
  '',
);

describe('MIME parser', () => {
  it('describes a nested multipart with byte offsets that delimit each body exactly', () => {
    const parsed = parseInChunks(MULTIPART, 1 << 20);
    const root = parsed.summary.structure;
    expect(root.contentType).toMatchObject({ type: 'multipart', subtype: 'mixed' });
    expect(root.partId).toBe('');
    const [alternative, pdf, rfc822] = root.children ?? [];
    expect(alternative.partId).toBe('1');
    expect(alternative.children?.map((c) => c.partId)).toEqual(['1.1', '1.2']);
    const [plain, html] = alternative.children as MimePart[];
    expect(section(MULTIPART, plain)).toBe('Gr=FC=DFe aus K=F6ln,=\r\n soft break');
    expect(plain.lines).toBe(2);
    expect(plain.encoding).toBe('quoted-printable');
    expect(section(MULTIPART, html)).toBe('<p>Hello <b>HTML</b> &amp; friends</p><script>var x=1;</script>');
    expect(html.lines).toBe(1);
    expect(pdf).toMatchObject({ partId: '2', encoding: 'base64', id: '<pdf1@x>', size: 'JVBERi0xLjQK\r\nAAECAw=='.length });
    expect(rfc822.partId).toBe('3');
    expect(rfc822.message?.envelope.subject).toBe('inner message');
    expect(rfc822.message?.root.partId).toBe('3.1');
    expect(section(MULTIPART, rfc822)).toBe('Subject: inner message\r\nFrom: x@example.org\r\n\r\ninner body');
    expect(rfc822.lines).toBe(4);
    expect(parsed.summary.headerSize).toBe(MULTIPART.indexOf('\r\n\r\n') + 4);
    expect(parsed.headers.toString()).toBe(MULTIPART.subarray(0, parsed.summary.headerSize).toString());
    expect(parsed.summary.defects).toEqual([]);
  });

  it('gives the same result whatever the chunking, one byte at a time included', () => {
    const whole = parseInChunks(MULTIPART, 1 << 20);
    for (const size of [1, 2, 3, 7, 64]) expect(parseInChunks(MULTIPART, size)).toEqual(whole);
  });

  it('decodes text parts for search (quoted-printable, charsets, HTML) and previews the plain text', () => {
    const parsed = parseInChunks(MULTIPART, 5);
    expect(parsed.text).toContain('Grüße aus Köln, soft break');
    expect(parsed.text).toContain('Hello HTML & friends');
    expect(parsed.text).not.toContain('var x');
    expect(parsed.summary.preview).toBe('Grüße aus Köln, soft break');
  });

  it('lists attachments with decoded names and sizes, the encapsulated message included', () => {
    const { summary } = parseInChunks(MULTIPART, 9);
    expect(summary.attachments).toEqual([
      { partId: '2', contentType: 'application/pdf', name: 'Résumé.pdf', disposition: 'attachment', cid: 'pdf1@x', size: 13 },
      expect.objectContaining({ partId: '3', contentType: 'message/rfc822', size: 'Subject: inner message\r\nFrom: x@example.org\r\n\r\ninner body'.length }),
    ]);
    expect(summary.hasAttachment).toBe(true);
  });

  it('builds the envelope from raw header values, with groups and encoded words kept for IMAP', () => {
    const { envelope, threading } = parseInChunks(MULTIPART, 4096).summary;
    expect(envelope.from).toEqual([{ name: '=?utf-8?q?J=C3=B6rg?=', address: 'joerg@example.net' }]);
    expect(envelope.to).toEqual([
      { group: 'Team', members: [{ name: '', address: 'alice@example.com' }, { name: 'Bob B.', address: 'bob@example.com' }] },
      { name: '', address: 'carol@example.com' },
    ]);
    expect(envelope.date).toBe('Mon, 1 Jul 2024 10:00:00 +0200');
    expect(threading).toEqual({ messageId: 'r2@example.net', inReplyTo: ['r1@example.net'], references: ['root@example.net', 'r1@example.net'], baseSubject: 'quarterly report' });
  });

  it('treats a message without MIME headers as one text/plain part numbered 1', async () => {
    const bytes = Buffer.from('Subject: plain\n\nline one\nline two\n');
    const parsed = await parseMessage(Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]));
    const root = parsed.summary.structure;
    expect(root).toMatchObject({ partId: '1', contentType: { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } }, lines: 2 });
    expect(section(bytes, root)).toBe('line one\nline two\n');
    expect(parsed.text).toBe('line one\nline two\n');
  });

  it('never throws on malformed input and says what was wrong', async () => {
    const cases: [string, Buffer, string | null][] = [
      ['truncated multipart', lines('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'half a li'), 'multipart not terminated by its closing boundary'],
      ['multipart without boundary', lines('Content-Type: multipart/mixed', '', 'text'), 'multipart without a boundary (part root)'],
      ['multipart without parts', lines('Content-Type: multipart/mixed; boundary=b', '', 'nothing'), 'multipart without any body part'],
      ['headers only, no empty line', Buffer.from('Subject: x\r\nFrom: y'), 'no empty line after the headers'],
      ['empty message', Buffer.alloc(0), null],
      ['binary garbage', Buffer.from([0, 255, 13, 10, 13, 10, 0x80, 0xfe]), null],
      ['bad content type and encoding', lines('Content-Type: ???', 'Content-Transfer-Encoding: base64', '', '@@@@', ''), null],
      ['unknown charset', lines('Content-Type: text/plain; charset=x-klingon', '', 'qapla', ''), null],
    ];
    for (const [, bytes, defect] of cases) {
      const parsed = await parseMessage(bytes);
      expect(parsed.summary.size).toBe(bytes.length);
      if (defect) expect(parsed.summary.defects).toContain(defect);
    }
  });

  it('bounds what it keeps: header block, search text and number of parts', async () => {
    const hugeHeader = Buffer.concat([Buffer.from('X-Junk: '), Buffer.alloc(MAX_STORED_HEADER_BYTES * 2, 'a'), Buffer.from('\r\n\r\nbody\r\n')]);
    const parsedHeader = await parseMessage(hugeHeader);
    expect(parsedHeader.headers.length).toBe(MAX_STORED_HEADER_BYTES);
    expect(parsedHeader.summary.headerSize).toBe(hugeHeader.length - 'body\r\n'.length);
    expect(parsedHeader.summary.defects).toContain('header block too long, truncated');

    const bigText = Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\n'), Buffer.alloc(MAX_SEARCH_TEXT_BYTES * 3, 'word ')]);
    expect((await parseMessage(bigText)).text.length).toBe(MAX_SEARCH_TEXT_BYTES);

    const parts = ['Content-Type: multipart/mixed; boundary=b', ''];
    for (let i = 0; i < MAX_MIME_PARTS + 50; i++) parts.push('--b', '', `part ${i}`);
    parts.push('--b--', '');
    const many = await parseMessage(lines(...parts));
    expect(many.summary.structure.children?.length).toBeLessThan(MAX_MIME_PARTS);
    expect(many.summary.defects).toContain('too many body parts; the rest is not described');
  });

  it('streams a 20 MB single-line base64 attachment without buffering the line', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'QUFB');
    async function* source() {
      yield Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n');
      for (let i = 0; i < 20; i++) yield chunk;
      yield Buffer.from('\r\n--b--\r\n');
    }
    const parsed = await parseMessage(source());
    expect(parsed.summary.attachments[0].size).toBe((20 * 1024 * 1024 * 3) / 4);
    expect(parsed.summary.defects).toEqual([]);
  });
});

describe('base subject (RFC 5256)', () => {
  it.each([
    ['Re: Hello', 'hello'],
    ['RE: Fwd: Re[2]: [list] Hello   world (fwd)', 'hello world'],
    ['[fwd: Hello]', 'hello'],
    ['Fw: ', ''],
    ['[only a tag]', '[only a tag]'],
    ['', ''],
  ])('reduces %j to %j', (subject, expected) => {
    expect(baseSubject(subject)).toBe(expected);
  });
});
