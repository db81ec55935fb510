import { ImapFlow } from 'imapflow';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { TemporaryError } from '../../src/core/errors';
import type { Mailbox, MessageMetadata } from '../../src/mailbox/api/mailbox-store';
import { createImapServer, type ImapDeps, type ImapServer } from '../../src/protocols/imap';
import { MemoryBlobStore, MemoryMailboxStore, RawClient } from './imap/doubles';
const USER = 'alice@example.com';
const PASSWORD = 'correct horse';

function message(subject: string, body: string): Buffer {
  return Buffer.from(`From: bob@example.com\r\nTo: ${USER}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`, 'utf8');
}

/** About 1 MiB of text lines, deterministic. */
function makeLargeMessage(): Buffer {
  const lines: string[] = [];
  let seed = 42;
  while (lines.length * 78 < 1024 * 1024) {
    let line = '';
    for (let i = 0; i < 76; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      line += String.fromCharCode(0x21 + (seed % 94));
    }
    lines.push(line);
  }
  return message('large', `Grüße\r\n${lines.join('\r\n')}`);
}
const LARGE_MESSAGE = makeLargeMessage();

describe('IMAP server', () => {
  let mailboxes: MemoryMailboxStore;
  let blobs: MemoryBlobStore;
  let server: ImapServer;
  let port: number;
  let inbox: Mailbox;
  let broken: Mailbox;
  const contents = new Map<number, Buffer>();
  const clients: ImapFlow[] = [];
  const raws: RawClient[] = [];
  const date = new Date('2024-03-01T10:20:30Z');
  const logs: string[] = [];

  async function deliver(mailbox: Mailbox, bytes: Buffer, flags: string[] = []): Promise<MessageMetadata> {
    const stored = await blobs.put(MAIL_BUCKET, bytes);
    return mailboxes.appendMessage(mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: date, flags });
  }

  beforeEach(async () => {
    mailboxes = new MemoryMailboxStore();
    blobs = new MemoryBlobStore();
    inbox = await mailboxes.createMailbox(USER, 'INBOX');
    contents.clear();
    // UIDs 1, 3, 4 (2 was expunged): sequence numbers and UIDs differ.
    contents.set(1, message('one', 'Hello'));
    await deliver(inbox, contents.get(1) as Buffer, ['\\Answered']);
    await deliver(inbox, message('gone', 'Bye'));
    mailboxes.remove(inbox.id, 2);
    contents.set(3, message('three', 'Hi again'));
    await deliver(inbox, contents.get(3) as Buffer);
    contents.set(4, LARGE_MESSAGE);
    await deliver(inbox, contents.get(4) as Buffer);
    await mailboxes.createMailbox(USER, 'Archive');
    await mailboxes.createMailbox(USER, 'Archive.2024');
    await mailboxes.createMailbox(USER, 'Projects.Entwürfe');
    await mailboxes.createMailbox(USER, 'Empty');
    broken = await mailboxes.createMailbox(USER, 'Broken');
    await mailboxes.appendMessage(broken.id, { blobId: 'f'.repeat(64), size: 10, internalDate: date });
    await deliver(broken, message('fine', 'Still here'));
    await mailboxes.createMailbox('bob@example.com', 'Secret');

    logs.length = 0;
    const deps: ImapDeps = {
      mailboxes,
      blobs,
      logger: pino({ level: 'trace' }, { write: (line: string) => logs.push(line) }),
      authenticate: async (username, password) => (username.toLowerCase() === USER && password === PASSWORD ? USER : null),
    };
    server = createImapServer(deps, { host: '127.0.0.1', port: 0, logger: deps.logger });
    ({ port } = await server.listen());
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const raw of raws.splice(0)) raw.close();
    await server.close();
  });

  async function imapflow(options: { loginMethod?: string } = {}): Promise<ImapFlow> {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: USER, pass: PASSWORD, ...options },
      logger: false,
    });
    clients.push(client);
    await client.connect();
    return client;
  }

  async function raw(): Promise<{ client: RawClient; greeting: string }> {
    const connection = await RawClient.connect(port);
    raws.push(connection.client);
    return connection;
  }

  async function rawLoggedIn(): Promise<RawClient> {
    const { client } = await raw();
    const reply = await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`);
    expect(reply.at(-1)).toMatch(/^l1 OK /);
    return client;
  }

  describe('with imapflow as the client', () => {
    it('logs in with AUTHENTICATE PLAIN and with LOGIN', async () => {
      const viaPlain = await imapflow();
      expect(viaPlain.authenticated).toBeTruthy();
      const viaLogin = await imapflow({ loginMethod: 'LOGIN' });
      expect(viaLogin.authenticated).toBeTruthy();
      await viaLogin.logout();
    });

    it('lists the mailboxes of the user only, with the hierarchy', async () => {
      const client = await imapflow();
      const listed = await client.list();
      expect(listed.map((entry) => entry.path).sort()).toEqual(['Archive', 'Archive.2024', 'Broken', 'Empty', 'INBOX', 'Projects', 'Projects.Entwürfe']);
      expect(listed.find((entry) => entry.path === 'Projects')?.flags.has('\\Noselect')).toBe(true);
      expect(listed.find((entry) => entry.path === 'Archive')?.flags.has('\\HasChildren')).toBe(true);
      expect(listed.every((entry) => entry.delimiter === '.')).toBe(true);
    });

    it('selects a mailbox and reports its counts and UIDs', async () => {
      const client = await imapflow();
      const opened = await client.mailboxOpen('inbox');
      expect(opened.path).toBe('INBOX');
      expect(opened.exists).toBe(3);
      expect(opened.uidNext).toBe(5);
      expect(Number(opened.uidValidity)).toBe(inbox.uidValidity);
      expect(opened.readOnly).toBe(false);
    });

    it('fetches flags, UIDs, sizes and dates by sequence number and by UID', async () => {
      const client = await imapflow();
      await client.mailboxOpen('INBOX');
      const bySequence = [];
      for await (const msg of client.fetch('1:*', { uid: true, flags: true, size: true, internalDate: true })) bySequence.push(msg);
      expect(bySequence.map((msg) => [msg.seq, msg.uid, msg.size, [...(msg.flags ?? [])]])).toEqual([
        [1, 1, contents.get(1)?.length, ['\\Answered']],
        [2, 3, contents.get(3)?.length, []],
        [3, 4, contents.get(4)?.length, []],
      ]);
      expect(bySequence[0].internalDate).toEqual(date);

      const byUid = [];
      for await (const msg of client.fetch('3:*', { flags: true }, { uid: true })) byUid.push([msg.seq, msg.uid]);
      expect(byUid).toEqual([
        [2, 3],
        [3, 4],
      ]);
    });

    it('returns BODY[] byte-identical to the stored message, 1 MB included', async () => {
      const client = await imapflow();
      await client.mailboxOpen('INBOX');
      const small = await client.fetchOne('2', { source: true });
      expect(small && small.source?.equals(contents.get(3) as Buffer)).toBe(true);
      const large = await client.fetchOne('4', { source: true, uid: true }, { uid: true });
      expect(large && large.source?.length).toBe((contents.get(4) as Buffer).length);
      expect(large && large.source?.equals(contents.get(4) as Buffer)).toBe(true);
    });

    it('does not set \\Seen when fetching with BODY.PEEK[]', async () => {
      const client = await imapflow();
      await client.mailboxOpen('INBOX');
      await client.fetchOne('1', { source: true });
      expect(mailboxes.flagsOf(inbox.id, 1)).toEqual(['\\Answered']);
    });
  });

  describe('with a raw socket', () => {
    it('greets with its capabilities, without LOGINDISABLED', async () => {
      const { greeting } = await raw();
      expect(greeting).toBe('* OK [CAPABILITY IMAP4rev1 LITERAL+ CHILDREN UNSELECT ENABLE ID NAMESPACE ESEARCH STATUS=SIZE WITHIN SASL-IR AUTH=PLAIN] Postflow IMAP ready');
    });

    it('answers a garbage line with an untagged BAD and stays usable', async () => {
      const { client } = await raw();
      client.write('hello\r\n');
      expect(await client.readLine()).toBe('* BAD [CLIENTBUG] Missing or invalid tag');
      client.write(Buffer.from([0x01, 0xff, 0x28, 0x0d, 0x0a]));
      expect(await client.readLine()).toBe('* BAD [CLIENTBUG] Missing or invalid tag');
      expect(await client.command('a1', 'NOOP')).toEqual(['a1 OK NOOP completed']);
    });

    it('answers an unknown command and a malformed one with a tagged BAD', async () => {
      const { client } = await raw();
      expect(await client.command('a1', 'FROB')).toEqual(['a1 BAD Unknown command']);
      expect((await client.command('a2', 'LOGIN "unterminated')).at(-1)).toMatch(/^a2 BAD \[CLIENTBUG\] Unterminated quoted string/);
    });

    it('refuses a wrong password and an unknown user with the same answer', async () => {
      const { client } = await raw();
      expect(await client.command('a1', `LOGIN ${USER} wrong`)).toEqual(['a1 NO [AUTHENTICATIONFAILED] Invalid credentials']);
      expect(await client.command('a2', `LOGIN nobody@example.com "${PASSWORD}"`)).toEqual(['a2 NO [AUTHENTICATIONFAILED] Invalid credentials']);
      expect(await client.command('a3', 'NOOP')).toEqual(['a3 OK NOOP completed']);
    });

    it('says BYE after three failed logins', async () => {
      const { client } = await raw();
      await client.command('a1', `LOGIN ${USER} wrong1`);
      await client.command('a2', `LOGIN ${USER} wrong2`);
      expect(await client.command('a3', `LOGIN ${USER} wrong3`)).toEqual(['a3 NO [AUTHENTICATIONFAILED] Invalid credentials']);
      expect(await client.readLine()).toBe('* BYE Too many failed login attempts');
      await client.waitClosed();
    });

    it('asks for a synchronizing literal in LOGIN', async () => {
      const { client } = await raw();
      client.write(`a1 LOGIN {${USER.length}}\r\n`);
      expect(await client.readLine()).toBe('+ Ready for literal data');
      client.write(`${USER} {${PASSWORD.length}}\r\n`);
      expect(await client.readLine()).toBe('+ Ready for literal data');
      client.write(`${PASSWORD}\r\n`);
      expect((await client.readUntilTagged('a1')).at(-1)).toBe('a1 OK [CAPABILITY IMAP4rev1 LITERAL+ CHILDREN UNSELECT ENABLE ID NAMESPACE ESEARCH STATUS=SIZE WITHIN COMPRESS=DEFLATE] LOGIN completed');
    });

    it('takes non-synchronizing literals without continuation', async () => {
      const { client } = await raw();
      client.write(`a1 LOGIN {${USER.length}+}\r\n${USER} {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`);
      expect(await client.readLine()).toMatch(/^a1 OK /);
    });

    it('authenticates with AUTHENTICATE PLAIN and an initial response', async () => {
      const { client } = await raw();
      const response = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');
      expect((await client.command('a1', `AUTHENTICATE PLAIN ${response}`)).at(-1)).toMatch(/^a1 OK /);
    });

    it('lets the client cancel AUTHENTICATE', async () => {
      const { client } = await raw();
      client.write('a1 AUTHENTICATE PLAIN\r\n');
      expect(await client.readLine()).toBe('+ ');
      client.write('*\r\n');
      expect(await client.readLine()).toBe('a1 BAD Authentication cancelled');
      expect(await client.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
    });

    it('answers an over-long line with BAD and stays usable', async () => {
      const { client } = await raw();
      expect(await client.command('a1', `LOGIN ${'x'.repeat(100 * 1024)} y`)).toEqual(['a1 BAD [TOOBIG] Command line too long']);
      expect(await client.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
    });

    it('closes the connection after too many bad commands before login', async () => {
      const { client } = await raw();
      for (let i = 0; i < 9; i++) expect((await client.command(`b${i}`, 'FROB')).at(-1)).toBe(`b${i} BAD Unknown command`);
      client.write('b9 FROB\r\n');
      expect(await client.readLine()).toBe('b9 BAD Unknown command');
      expect(await client.readLine()).toBe('* BYE Too many invalid commands');
      await client.waitClosed();
    });

    it('refuses FETCH before login and before SELECT with BAD', async () => {
      const { client } = await raw();
      expect(await client.command('a1', 'FETCH 1 FLAGS')).toEqual(['a1 BAD [CLIENTBUG] FETCH: Log in first']);
      await client.command('a2', `LOGIN ${USER} "${PASSWORD}"`);
      expect(await client.command('a3', 'FETCH 1 FLAGS')).toEqual(['a3 BAD [CLIENTBUG] FETCH: No mailbox selected']);
      expect(await client.command('a4', 'UID FETCH 1 FLAGS')).toEqual(['a4 BAD [CLIENTBUG] UID: No mailbox selected']);
      expect(await client.command('a5', `LOGIN ${USER} "${PASSWORD}"`)).toEqual(['a5 BAD [CLIENTBUG] LOGIN: Already authenticated']);
    });

    it('returns the delimiter for LIST "" ""', async () => {
      const client = await rawLoggedIn();
      expect(await client.command('a1', 'LIST "" ""')).toEqual(['* LIST (\\Noselect) "." ""', 'a1 OK LIST completed']);
    });

    it('lists with % one level of the hierarchy and encodes names in modified UTF-7', async () => {
      const client = await rawLoggedIn();
      expect(await client.command('a1', 'LIST "" %')).toEqual([
        '* LIST (\\HasNoChildren) "." "INBOX"',
        '* LIST (\\HasChildren) "." "Archive"',
        '* LIST (\\HasNoChildren) "." "Broken"',
        '* LIST (\\HasNoChildren) "." "Empty"',
        '* LIST (\\Noselect \\HasChildren) "." "Projects"',
        'a1 OK LIST completed',
      ]);
      expect(await client.command('a2', 'LIST Projects. *')).toEqual(['* LIST (\\HasNoChildren) "." "Projects.Entw&APw-rfe"', 'a2 OK LIST completed']);
    });

    it('answers SELECT with the state of the mailbox, INBOX in any case', async () => {
      const client = await rawLoggedIn();
      expect(await client.command('a1', 'SELECT inbox')).toEqual([
        '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
        '* 3 EXISTS',
        '* 0 RECENT',
        '* OK [UNSEEN 1] First unseen',
        `* OK [UIDVALIDITY ${inbox.uidValidity}] UIDs valid`,
        '* OK [UIDNEXT 5] Predicted next UID',
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
        'a1 OK [READ-WRITE] SELECT completed',
      ]);
      // UNSEEN is a message sequence number (UID 3 is message 2), and is left out when all are seen.
      await mailboxes.addFlags(inbox.id, { from: 1, to: 1 }, ['\\Seen']);
      expect(await client.command('a3', 'EXAMINE INBOX')).toContain('* OK [UNSEEN 2] First unseen');
      await mailboxes.addFlags(inbox.id, { from: 1, to: 4 }, ['\\Seen']);
      expect((await client.command('a6', 'EXAMINE INBOX')).some((line) => line.includes('UNSEEN'))).toBe(false);
    });

    it('without a MailboxManager: no OBJECTID/IMAP4rev2, no MAILBOXID, THREADID refused, EMAILID still searchable', async () => {
      const client = await rawLoggedIn();
      const capability = (await client.command('c1', 'CAPABILITY'))[0];
      expect(capability).not.toMatch(/OBJECTID|IMAP4rev2|SEARCHRES/);
      expect(await client.command('c2', 'ENABLE IMAP4rev2')).toEqual(['* ENABLED', 'c2 OK ENABLE completed']);
      expect(await client.command('c3', 'STATUS INBOX (MAILBOXID)')).toEqual(['c3 BAD Unknown STATUS item MAILBOXID']);
      const selected = await client.command('c4', 'EXAMINE INBOX');
      expect(selected.some((line) => line.includes('MAILBOXID'))).toBe(false);
      expect(selected).toContain('* 0 RECENT');
      expect(await client.command('c5', 'SEARCH THREADID T1')).toEqual(['c5 BAD SEARCH THREADID is not supported by this server']);
      expect(await client.command('c6', 'SEARCH EMAILID nosuchid')).toEqual(['* SEARCH', 'c6 OK SEARCH completed']);
    });

    it('refuses a missing mailbox with NONEXISTENT and leaves the selected state', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      expect(await client.command('a2', 'SELECT Nowhere')).toEqual(['a2 NO [NONEXISTENT] Mailbox does not exist']);
      expect(await client.command('a3', 'FETCH 1 FLAGS')).toEqual(['a3 BAD [CLIENTBUG] FETCH: No mailbox selected']);
    });

    it('sets \\Seen with BODY[] and reports the new flags', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      const size = (contents.get(3) as Buffer).length;
      client.write('a2 FETCH 2 (UID BODY[])\r\n');
      expect(await client.readLine()).toBe(`* 2 FETCH (UID 3 BODY[] {${size}}`);
      expect((await client.readBytes(size)).equals(contents.get(3) as Buffer)).toBe(true);
      expect(await client.readLine()).toBe(' FLAGS (\\Seen))');
      expect(await client.readLine()).toBe('a2 OK FETCH completed');
      expect(mailboxes.flagsOf(inbox.id, 3)).toEqual(['\\Seen']);
      expect(await client.command('a3', 'FETCH 2 FLAGS')).toEqual(['* 2 FETCH (FLAGS (\\Seen))', 'a3 OK FETCH completed']);
    });

    it('does not set \\Seen with BODY[] in a mailbox opened by EXAMINE', async () => {
      const client = await rawLoggedIn();
      expect((await client.command('a1', 'EXAMINE INBOX')).at(-1)).toBe('a1 OK [READ-ONLY] EXAMINE completed');
      const size = (contents.get(1) as Buffer).length;
      client.write('a2 FETCH 1 RFC822\r\n');
      expect(await client.readLine()).toBe(`* 1 FETCH (RFC822 {${size}}`);
      await client.readBytes(size);
      expect(await client.readLine()).toBe(')');
      expect(await client.readLine()).toBe('a2 OK FETCH completed');
      expect(mailboxes.flagsOf(inbox.id, 1)).toEqual(['\\Answered']);
    });

    it('sends header sections, the text and RFC822.HEADER without setting \\Seen for peeks', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      const header = `From: bob@example.com\r\nTo: ${USER}\r\nSubject: three\r\n\r\n`;
      client.write('a2 FETCH 2 (BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (subject X-Missing)] BODY.PEEK[HEADER.FIELDS.NOT (To From)] BODY.PEEK[TEXT] BODY.PEEK[TEXT]<2.3>)\r\n');
      expect(await client.readLine()).toBe(`* 2 FETCH (BODY[HEADER] {${header.length}}`);
      expect((await client.readBytes(header.length)).toString()).toBe(header);
      expect(await client.readLine()).toBe(' BODY[HEADER.FIELDS (SUBJECT X-MISSING)] {18}');
      expect((await client.readBytes(18)).toString()).toBe('Subject: three\r\n\r\n');
      expect(await client.readLine()).toBe(' BODY[HEADER.FIELDS.NOT (TO FROM)] {18}');
      expect((await client.readBytes(18)).toString()).toBe('Subject: three\r\n\r\n');
      expect(await client.readLine()).toBe(' BODY[TEXT] {10}');
      expect((await client.readBytes(10)).toString()).toBe('Hi again\r\n');
      expect(await client.readLine()).toBe(' BODY[TEXT]<2> {3}');
      expect((await client.readBytes(3)).toString()).toBe(' ag');
      expect(await client.readLine()).toBe(')');
      expect(await client.readLine()).toBe('a2 OK FETCH completed');
      client.write('a3 FETCH 2 (RFC822.HEADER)\r\n');
      expect(await client.readLine()).toBe(`* 2 FETCH (RFC822.HEADER {${header.length}}`);
      await client.readBytes(header.length);
      expect(await client.readLine()).toBe(')');
      expect(await client.readLine()).toBe('a3 OK FETCH completed');
      expect(mailboxes.flagsOf(inbox.id, 3)).toEqual([]);
      expect((await client.command('a4', 'FETCH 2 BODY[TEXT]')).at(-1)).toBe('a4 OK FETCH completed');
      expect(mailboxes.flagsOf(inbox.id, 3)).toEqual(['\\Seen']);
    });

    it('sends partial bodies and the FAST macro', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      client.write('a2 FETCH 1 BODY.PEEK[]<6.3>\r\n');
      expect(await client.readLine()).toBe('* 1 FETCH (BODY[]<6> {3}');
      expect((await client.readBytes(3)).toString()).toBe('bob');
      expect(await client.readLine()).toBe(')');
      await client.readLine();
      const size = (contents.get(1) as Buffer).length;
      expect(await client.command('a3', 'FETCH 1 FAST')).toEqual([
        `* 1 FETCH (FLAGS (\\Answered) INTERNALDATE "01-Mar-2024 10:20:30 +0000" RFC822.SIZE ${size})`,
        'a3 OK FETCH completed',
      ]);
    });

    it('answers unsupported FETCH items and sequence numbers beyond the mailbox with BAD', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      // ENVELOPE and BODYSTRUCTURE come from the parsed message a MailboxManager stores; this double is a plain store.
      const noSummary = 'FETCH item ENVELOPE, BODYSTRUCTURE and part sections is not supported by this server yet';
      expect(await client.command('a2', 'FETCH 1 ENVELOPE')).toEqual([`a2 BAD ${noSummary}`]);
      expect(await client.command('a3', 'FETCH 1 ALL')).toEqual([`a3 BAD ${noSummary}`]);
      expect(await client.command('a4', 'FETCH 4 FLAGS')).toEqual(['a4 BAD [CLIENTBUG] Message sequence number beyond 3']);
      expect(await client.command('a5', 'FETCH 1:x FLAGS')).toEqual(['a5 BAD [CLIENTBUG] Invalid sequence set "1:x"']);
      // The in-memory store here is a plain MailboxStore: COPY exists only with a MailboxManager.
      expect(await client.command('a6', 'UID COPY 1 Archive')).toEqual(['a6 BAD Unknown UID command COPY']);
      expect(await client.command('a7', 'COPY 1 Archive')).toEqual(['a7 BAD Unknown command']);
      expect(await client.command('a8', 'FETCH 1 BODY[1.2]')).toEqual([`a8 BAD ${noSummary}`]);
      expect(await client.command('a9', 'FETCH 1 BODY[HEADER.FIELDS ()]')).toEqual(['a9 BAD Invalid FETCH section']);
    });

    it('answers UID FETCH 1:* on an empty mailbox with OK and no FETCH lines', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT Empty');
      expect(await client.command('a2', 'UID FETCH 1:* (FLAGS)')).toEqual(['a2 OK UID FETCH completed']);
    });

    it('returns the last message for UID FETCH n:* with n above the highest UID', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      expect(await client.command('a2', 'UID FETCH 100:* FLAGS')).toEqual(['* 3 FETCH (UID 4 FLAGS ())', 'a2 OK UID FETCH completed']);
    });

    it('answers NO for a message missing from the blob store, sends the others and stays usable', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT Broken');
      const fine = message('fine', 'Still here');
      client.write('a2 UID FETCH 1:* (BODY.PEEK[])\r\n');
      expect(await client.readLine()).toBe(`* 2 FETCH (UID 2 BODY[] {${fine.length}}`);
      expect((await client.readBytes(fine.length)).equals(fine)).toBe(true);
      expect(await client.readLine()).toBe(')');
      expect(await client.readLine()).toBe('a2 NO [SERVERBUG] Content of 1 message(s) is unavailable (UID 1)');
      expect(await client.command('a3', 'NOOP')).toEqual(['a3 OK NOOP completed']);
    });

    it('answers NO [UNAVAILABLE] when the blob store is down', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      blobs.failReads = new TemporaryError('store unreachable');
      expect(await client.command('a2', 'FETCH 1 BODY.PEEK[]')).toEqual(['a2 NO [UNAVAILABLE] Temporary failure, try again later']);
      expect(await client.command('a3', 'NOOP')).toEqual(['a3 OK NOOP completed']);
    });

    it('reports new and expunged messages on NOOP', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      expect(await client.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
      await deliver(inbox, message('new', 'Fresh'));
      mailboxes.remove(inbox.id, 1);
      expect(await client.command('a3', 'NOOP')).toEqual(['* 1 EXPUNGE', '* 3 EXISTS', 'a3 OK NOOP completed']);
      expect(await client.command('a4', 'FETCH 3 UID')).toEqual(['* 3 FETCH (UID 5)', 'a4 OK FETCH completed']);
    });

    it('does not show messages appended since SELECT before they are announced', async () => {
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      await deliver(inbox, message('new', 'Fresh'));
      expect(await client.command('a2', 'UID FETCH 4:* UID')).toEqual(['* 3 FETCH (UID 4)', 'a2 OK UID FETCH completed']);
    });

    it('says BYE on LOGOUT and closes', async () => {
      const { client } = await raw();
      expect(await client.command('a1', 'LOGOUT')).toEqual(['* BYE Postflow IMAP logging out', 'a1 OK LOGOUT completed']);
      await client.waitClosed();
    });

    it('answers commands pipelined in one packet in order', async () => {
      const { client } = await raw();
      client.write(`a1 LOGIN ${USER} "${PASSWORD}"\r\na2 SELECT INBOX\r\na3 FETCH 1 UID\r\na4 LOGOUT\r\n`);
      const lines = await client.readUntilTagged('a4');
      expect(lines.filter((line) => /^a\d /.test(line)).map((line) => line.slice(0, 5))).toEqual(['a1 OK', 'a2 OK', 'a3 OK', 'a4 OK']);
      expect(lines).toContain('* 1 FETCH (UID 1)');
    });

    it('answers a range FETCH with small bodies from memory and a large one streamed, in order and byte for byte', async () => {
      let streams = 0;
      const read = blobs.read.bind(blobs);
      blobs.read = (bucket, blobId) => {
        streams++;
        return read(bucket, blobId);
      };
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT INBOX');
      client.write('a2 FETCH 1:3 (UID BODY.PEEK[])\r\n');
      for (const [sequence, uid] of [
        [1, 1],
        [2, 3],
        [3, 4],
      ]) {
        const bytes = contents.get(uid) as Buffer;
        expect(await client.readLine()).toBe(`* ${sequence} FETCH (UID ${uid} BODY[] {${bytes.length}}`);
        expect((await client.readBytes(bytes.length)).equals(bytes)).toBe(true);
        expect(await client.readLine()).toBe(')');
      }
      expect(await client.readLine()).toBe('a2 OK FETCH completed');
      // Only the message above INLINE_CONTENT_MAX was streamed; the small ones were read in one call each.
      expect(streams).toBe(1);
    });

    it('streams bodies no faster than a slow client reads them', async () => {
      const big = await mailboxes.createMailbox(USER, 'Big');
      for (let i = 0; i < 16; i++) await deliver(big, LARGE_MESSAGE);
      let reads = 0;
      const read = blobs.read.bind(blobs);
      blobs.read = (bucket, blobId) => {
        reads++;
        return read(bucket, blobId);
      };
      const client = await rawLoggedIn();
      await client.command('a1', 'SELECT Big');
      client.pause();
      client.write('a2 FETCH 1:* BODY.PEEK[]\r\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Socket buffers hold a few messages; the rest waits for the client to read.
      expect(reads).toBeLessThan(16);
      client.resume();
      const lines = await client.readUntilTagged('a2');
      expect(lines.at(-1)).toBe('a2 OK FETCH completed');
      expect(reads).toBe(16);
    });

    it('never logs passwords or message bodies', async () => {
      const { client } = await raw();
      await client.command('a1', `LOGIN ${USER} "${PASSWORD}x"`);
      client.write(`a2 LOGIN {${USER.length}+}\r\n${USER} {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`);
      await client.readUntilTagged('a2');
      await client.command('a3', 'SELECT INBOX');
      await client.command('a4', 'FETCH 2 BODY[]');
      const plain = await imapflow();
      await plain.logout();
      const output = logs.join('');
      expect(output).toContain('IMAP login');
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain(Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64'));
      expect(output).not.toContain('Hi again');
    });

    it('ends open connections with BYE when the server closes', async () => {
      const { client } = await raw();
      await client.command('a1', 'NOOP');
      await server.close();
      expect(await client.readLine()).toBe('* BYE Server shutting down');
      await client.waitClosed();
    });
  });
});
