import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MAX_STORED_HEADER_BYTES } from '../../src/mime';
import { createImapServer, type ImapServer } from '../../src/protocols/imap';
import { createEmbeddedBackends } from '../../src/storage/embedded';
import { RawClient } from './imap/doubles';

/**
 * FETCH of header sections and ENVELOPE answered from the header block stored at append (SQLite +
 * files, through the MailboxManager): a stored block that ends with its empty line is used as it
 * is; a block cut at MAX_STORED_HEADER_BYTES, or a message with no empty line, is read from the blob.
 */
const USER = 'alice@example.com';
const PASSWORD = 'secret';

describe('IMAP FETCH of stored header blocks (embedded store)', () => {
  let dir: string;
  let backends: Awaited<ReturnType<typeof createEmbeddedBackends>>;
  let server: ImapServer;
  let client: RawClient;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-fetch-headers-'));
    const logger = pino({ level: 'silent' });
    backends = await createEmbeddedBackends({ dataDir: dir, logger });
    await backends.mailboxes.ensureMailbox(USER, 'INBOX');
    server = createImapServer(
      { mailboxes: backends.mailboxes, blobs: backends.blobs, events: backends.events, logger, authenticate: async (u, p) => (u === USER && p === PASSWORD ? USER : null) },
      { host: '127.0.0.1', port: 0 },
    );
    const { port } = await server.listen();
    ({ client } = await RawClient.connect(port));
    expect((await client.command('l1', `LOGIN ${USER} ${PASSWORD}`)).at(-1)).toMatch(/^l1 OK/);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await backends?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function append(raw: Buffer): Promise<void> {
    client.write(Buffer.concat([Buffer.from(`a APPEND INBOX {${raw.length}+}\r\n`), raw, Buffer.from('\r\n')]));
    for (;;) {
      const line = await client.readLine();
      if (line.startsWith('a ')) {
        expect(line).toMatch(/^a OK/);
        return;
      }
    }
  }

  /** The literal of `item` in the response to `UID FETCH uid (item)`. */
  async function fetchLiteral(uid: number, item: string): Promise<string> {
    client.write(`f UID FETCH ${uid} (${item})\r\n`);
    const first = await client.readLine();
    const size = Number(/\{(\d+)\}$/.exec(first)?.[1]);
    expect(Number.isInteger(size)).toBe(true);
    const bytes = (await client.readBytes(size)).toString('latin1');
    expect(await client.readLine()).toBe(')');
    expect(await client.readLine()).toMatch(/^f OK/);
    return bytes;
  }

  it('answers header sections and ENVELOPE of CRLF, bare-LF, header-only and oversized header blocks', async () => {
    const crlf = 'From: Bob <bob@example.org>\r\nSubject: crlf\r\n\r\nbody one\r\n';
    const lf = 'From: Bob <bob@example.org>\nSubject: bare lf\n\nbody two\n';
    const headerOnly = 'From: Bob <bob@example.org>\r\nSubject: no body';
    // A header block longer than what is stored: the stored copy is cut, the answer must not be.
    const filler = `X-Filler: ${'x'.repeat(990)}\r\n`.repeat(Math.ceil(MAX_STORED_HEADER_BYTES / 1000) + 8);
    const big = `From: Bob <bob@example.org>\r\nSubject: big\r\n${filler}\r\nbody four\r\n`;
    for (const raw of [crlf, lf, headerOnly, big]) await append(Buffer.from(raw, 'latin1'));
    expect((await client.command('s', 'SELECT INBOX')).at(-1)).toMatch(/^s OK/);

    expect(await fetchLiteral(1, 'BODY.PEEK[HEADER]')).toBe('From: Bob <bob@example.org>\r\nSubject: crlf\r\n\r\n');
    expect(await fetchLiteral(1, 'BODY.PEEK[TEXT]')).toBe('body one\r\n');
    expect(await fetchLiteral(2, 'BODY.PEEK[HEADER]')).toBe('From: Bob <bob@example.org>\nSubject: bare lf\n\n');
    // The field line keeps its stored line end; the section ends with CRLF.
    expect(await fetchLiteral(2, 'BODY.PEEK[HEADER.FIELDS (SUBJECT)]')).toBe('Subject: bare lf\n\r\n');
    expect(await fetchLiteral(3, 'BODY.PEEK[HEADER]')).toBe(headerOnly);
    const emptyText = await client.command('t', 'UID FETCH 3 (BODY.PEEK[TEXT])');
    expect(emptyText.at(-1)).toMatch(/^t OK/);
    expect(emptyText.join('\n')).toMatch(/BODY\[TEXT\] (""|\{0\})/);
    const bigHeader = await fetchLiteral(4, 'BODY.PEEK[HEADER]');
    expect(bigHeader.length).toBeGreaterThan(MAX_STORED_HEADER_BYTES);
    expect(bigHeader).toBe(big.slice(0, big.indexOf('\r\n\r\n') + 4));
    expect(await fetchLiteral(4, 'BODY.PEEK[TEXT]')).toBe('body four\r\n');

    const envelopes = await client.command('e', 'UID FETCH 1:4 (ENVELOPE)');
    expect(envelopes.at(-1)).toMatch(/^e OK/);
    expect(envelopes.filter((l) => l.includes('ENVELOPE')).map((l) => /ENVELOPE \(NIL "([^"]*)"/.exec(l)?.[1])).toEqual(['crlf', 'bare lf', 'no body', 'big']);
  });
});
