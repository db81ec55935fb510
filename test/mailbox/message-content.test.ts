import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { NotFoundError } from '../../src/core/errors';
import { FileBlobStore } from '../../src/blob/file/file-blob-store';
import { InvalidInputError } from '../../src/core/errors';
import { MAX_HEADER_PREFIX_BYTES, deriveWithPrefix, openMessageContent, parseWithPrefix, readMessageBytes, validateHeaderPrefix } from '../../src/mailbox/message-content';
import { renderHeaderPrefix } from '../../src/mailet/catalogue/core-mailets';
import { HeaderSection, joinMessage, splitMessage } from '../../src/mailet/message/header-section';
import { MAX_STORED_HEADER_BYTES, parseMessage } from '../../src/mime/mime-parser';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));

/** Messages whose parse with a prefix must equal the parse of prefix + bytes. */
const MESSAGES: Record<string, Buffer> = {
  'a simple text message': crlf(['From: a@example.com', 'Subject: hi', '', 'hello', '']),
  'nested multiparts and an encapsulated message': crlf([
    'From: a@example.com',
    'Content-Type: multipart/mixed; boundary=outer',
    '',
    'preamble',
    '--outer',
    'Content-Type: multipart/alternative; boundary=inner',
    '',
    '--inner',
    'Content-Type: text/plain',
    '',
    'plain',
    '--inner',
    'Content-Type: text/html',
    '',
    '<p>html</p>',
    '--inner--',
    '--outer',
    'Content-Type: message/rfc822',
    '',
    'Subject: inside',
    'Content-Type: multipart/mixed; boundary=deep',
    '',
    '--deep',
    '',
    'deep text',
    '--deep--',
    '--outer--',
    'epilogue',
  ]),
  'bare LF line ends': Buffer.from('From: a@example.com\nSubject: lf\n\nline one\nline two\n'),
  'no body at all': crlf(['From: a@example.com', 'Subject: headers only']),
  'an empty header section': crlf(['', 'only a body', '']),
  'an unterminated multipart': crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'cut sho']),
};

describe('per-copy header prefix', () => {
  const prefix = Buffer.from('Delivered-To: someone@example.com\r\nX-Trace: a\r\n folded\r\n');

  it.each(Object.entries(MESSAGES))('derives the parse of prefix + %s equal to parsing those bytes', async (_name, bytes) => {
    const derived = deriveWithPrefix(await parseMessage(bytes), prefix);
    expect(derived).not.toBeNull();
    expect(derived).toEqual(await parseMessage(Buffer.concat([prefix, bytes])));
  });

  it('does not derive (the copy is parsed whole) when the prefix names a parsed field, the blob starts with white space or its header was cut', async () => {
    const simple = await parseMessage(MESSAGES['a simple text message']);
    for (const field of ['Subject: x', 'content-type: text/html', 'Message-ID: <x@y>', 'References: <a@b>', 'MIME-Version: 1.0', 'From: z@example.com']) {
      expect(deriveWithPrefix(simple, Buffer.from(`${field}\r\n`))).toBeNull();
    }
    const continued = Buffer.from(' continued\r\nFrom: a@example.com\r\n\r\nbody\r\n');
    expect(deriveWithPrefix(await parseMessage(continued), prefix)).toBeNull();
    const huge = Buffer.concat([Buffer.from(`X-Big: ${'x'.repeat(MAX_STORED_HEADER_BYTES)}\r\n\r\n`), Buffer.from('body\r\n')]);
    expect(deriveWithPrefix(await parseMessage(huge), prefix)).toBeNull();
    const fitsJust = Buffer.from(`X-Big: ${'x'.repeat(MAX_STORED_HEADER_BYTES - 20)}\r\n\r\nbody\r\n`);
    expect(deriveWithPrefix(await parseMessage(fitsJust), prefix)).toBeNull();
  });

  it('accepts well-formed prefixes and refuses the others with InvalidInputError', () => {
    for (const good of ['Delivered-To: a@b\r\n', 'A: 1\r\nB: 2\r\n', 'X-Folded: a\r\n\tb\r\n', `X-Max: ${'y'.repeat(MAX_HEADER_PREFIX_BYTES - 9)}\r\n`]) {
      expect(validateHeaderPrefix(Buffer.from(good)).toString()).toBe(good);
    }
    const bad: unknown[] = [
      undefined,
      null,
      'A: 1\r\n',
      Buffer.alloc(0),
      Buffer.from('A: 1'),
      Buffer.from('A: 1\n'),
      Buffer.from('A: 1\r\n\r\n'),
      Buffer.from('\tcontinued\r\n'),
      Buffer.from('no colon\r\n'),
      Buffer.from(': empty name\r\n'),
      Buffer.from('A: 1\nB: 2\r\n'),
      Buffer.from('A: nul\0\r\n'),
      Buffer.from('A: 1\r\n  \r\n'),
      Buffer.from(`X-Max: ${'y'.repeat(MAX_HEADER_PREFIX_BYTES - 8)}\r\n`),
    ];
    for (const prefix of bad) expect(() => validateHeaderPrefix(prefix)).toThrow(InvalidInputError);
  });

  it('renders per-recipient fields exactly as HeaderSection adds them at the top', () => {
    const fields: Array<[string, string]> = [
      ['Delivered-To', 'someone@example.com'],
      ['X-Long', `${'word '.repeat(40)}end`],
      ['X-Unicode', 'Grüße aus Köln'],
    ];
    const message = crlf(['From: a@example.com', 'Subject: s', '', 'body', '']);
    const { header, body } = splitMessage(message);
    const section = HeaderSection.parse(header);
    for (const [name, value] of [...fields].reverse()) section.add(name, value, 'top');
    const copied = joinMessage(section, body);
    expect(Buffer.concat([renderHeaderPrefix(fields), message])).toEqual(copied);
    expect(() => validateHeaderPrefix(renderHeaderPrefix(fields))).not.toThrow();
  });

  it('refuses per-recipient fields that cannot be written, as permanent bad input', () => {
    expect(() => renderHeaderPrefix([['Bad Name', 'x']])).toThrow(InvalidInputError);
    expect(() => renderHeaderPrefix([['X-Break', 'a\r\nInjected: yes']])).toThrow(InvalidInputError);
    expect(() => renderHeaderPrefix([['X-Ok'] as unknown as [string, string]])).toThrow(InvalidInputError);
  });

  describe('content readers', () => {
    let dir: string;
    let blobs: FileBlobStore;

    beforeEach(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'postflow-message-content-'));
      blobs = await new FileBlobStore(dir).init();
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('streams and reads prefix + blob, and the blob alone without a prefix', async () => {
      const bytes = MESSAGES['nested multiparts and an encapsulated message'];
      const { blobId } = await blobs.put(MAIL_BUCKET, bytes);
      const chunks: Buffer[] = [];
      for await (const chunk of await openMessageContent(blobs, { blobId, headerPrefix: prefix })) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks)).toEqual(Buffer.concat([prefix, bytes]));
      expect(await readMessageBytes(blobs, { blobId, headerPrefix: prefix })).toEqual(Buffer.concat([prefix, bytes]));
      expect(await readMessageBytes(blobs, { blobId })).toEqual(bytes);
      expect(await parseWithPrefix(blobs, { blobId, headerPrefix: prefix })).toEqual(await parseMessage(Buffer.concat([prefix, bytes])));
    });

    it('rejects with NotFoundError when the shared blob is gone, prefix or not', async () => {
      const blobId = 'a'.repeat(64);
      await expect(openMessageContent(blobs, { blobId, headerPrefix: prefix })).rejects.toBeInstanceOf(NotFoundError);
      await expect(readMessageBytes(blobs, { blobId, headerPrefix: prefix })).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});
