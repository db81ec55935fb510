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

  it('filters as the line-by-line text reading it replaced, on generated header blocks', () => {
    // The earlier implementation (text split into lines), as the oracle; it added no CRLF after a
    // last folded line without a line end, which the byte version does: that case is left out here.
    const oracle = (block: Buffer, names: readonly string[], not: boolean): string => {
      const wanted = new Set(names.map((n) => n.toLowerCase()));
      const out: string[] = [];
      let current: string | null = null;
      let keep = false;
      for (const line of block.toString('latin1').split(/(?<=\n)/)) {
        if (line === '\r\n' || line === '\n') break;
        if ((line.startsWith(' ') || line.startsWith('\t')) && current !== null) {
          current += line;
          continue;
        }
        if (current !== null && keep) out.push(current);
        const colon = line.indexOf(':');
        const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
        keep = name !== '' && wanted.has(name) !== not;
        current = line.endsWith('\n') ? line : `${line}\r\n`;
      }
      if (current !== null && keep) out.push(current);
      return `${out.join('')}\r\n`;
    };
    // mulberry32: a small seeded generator (the same blocks on every run).
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    let nonEmpty = 0;
    const names = ['Subject', 'FROM', 'to', 'X-Priority', 'References', 'Content-Type', 'Received'];
    for (let run = 0; run < 500; run++) {
      const eol = random(2) === 0 ? '\r\n' : '\n';
      const lines: string[] = [];
      for (let i = random(8); i >= 0; i--) {
        const kind = random(10);
        if (kind === 0) lines.push('no colon here');
        else if (kind === 1) lines.push(`${names[random(names.length)]} : spaced`);
        else if (kind === 2) lines.push(`\tfolded ${i}`);
        else lines.push(`${names[random(names.length)]}: value ${i} \xe9`);
      }
      const last = random(3);
      const block = Buffer.from(last === 0 ? lines.join(eol) + eol + eol + 'Body: not a field' + eol : last === 1 ? lines.join(eol) + eol : lines.join(eol), 'latin1');
      if (last === 2 && /^[ \t]/.test(lines[lines.length - 1]) && lines.length > 1) continue;
      const list = names.filter(() => random(2) === 0);
      const not = random(2) === 0;
      const expected = oracle(block, list, not);
      if (expected !== '\r\n') nonEmpty++;
      expect(filterHeaderFields(block, list, not).toString('latin1')).toBe(expected);
    }
    // The generated blocks keep something most of the time (the comparison is not of empty results).
    expect(nonEmpty).toBeGreaterThan(300);
  });

  it('ends a last folded line without a line end with CRLF', () => {
    expect(filterHeaderFields(Buffer.from('Subject: a\r\n b'), ['subject'], false).toString()).toBe('Subject: a\r\n b\r\n\r\n');
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
