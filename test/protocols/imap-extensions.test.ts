import { ImapFlow } from 'imapflow';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { Mailbox, MessageMetadata } from '../../src/mailbox/api/mailbox-store';
import { createImapServer, type ImapDeps, type ImapServer, type ImapServerOptions } from '../../src/protocols/imap';
import { MemoryBlobStore, MemoryKeyBus, MemoryMailboxStore, RawClient } from './imap/doubles';

const USER = 'alice@example.com';
const PASSWORD = 'correct horse';

function message(headers: Record<string, string>, body: string): Buffer {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}\r\n`, 'utf8');
}

describe('IMAP extensions (ENABLE, ID, NAMESPACE, CHECK, STATUS, IDLE, SEARCH)', () => {
  let mailboxes: MemoryMailboxStore;
  let blobs: MemoryBlobStore;
  let bus: MemoryKeyBus;
  let server: ImapServer;
  let port: number;
  let inbox: Mailbox;
  const raws: RawClient[] = [];
  const flows: ImapFlow[] = [];

  async function deliver(mailbox: Mailbox, bytes: Buffer, flags: string[] = [], internalDate = new Date('2024-03-01T10:20:30Z')): Promise<MessageMetadata> {
    const stored = await blobs.put(MAIL_BUCKET, bytes);
    return mailboxes.appendMessage(mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate, flags });
  }

  async function start(withEvents: boolean, options: Partial<ImapServerOptions> = {}): Promise<void> {
    const deps: ImapDeps = {
      mailboxes,
      blobs,
      logger: pino({ level: 'silent' }),
      authenticate: async (username, password) => (username === USER && password === PASSWORD ? USER : null),
      ...(withEvents ? { events: bus } : {}),
    };
    server = createImapServer(deps, { host: '127.0.0.1', port: 0, ...options });
    ({ port } = await server.listen());
  }

  beforeEach(async () => {
    mailboxes = new MemoryMailboxStore();
    blobs = new MemoryBlobStore();
    bus = new MemoryKeyBus();
    mailboxes.bus = bus;
    inbox = await mailboxes.createMailbox(USER, 'INBOX');
    await deliver(inbox, message({ From: 'Bob <bob@example.com>', To: USER, Subject: 'Lunch on Friday', Date: 'Fri, 01 Mar 2024 09:00:00 +0000' }, 'Shall we meet at noon?'), ['\\Seen']);
    await deliver(
      inbox,
      message({ From: 'carol@example.org', To: USER, Cc: 'dave@example.net', Subject: '=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=', Date: 'Sat, 02 Mar 2024 09:00:00 +0000' }, 'Viele Grüße'),
      ['\\Flagged', '$Important'],
      new Date('2024-03-02T10:00:00Z'),
    );
    await deliver(inbox, message({ From: 'bob@example.com', To: USER, Subject: 'Report', 'X-Priority': '1' }, 'x'.repeat(5000)), [], new Date('2024-03-05T10:00:00Z'));
    await mailboxes.createMailbox(USER, 'Archive');
    await start(true);
  });

  afterEach(async () => {
    for (const flow of flows.splice(0)) flow.close();
    for (const raw of raws.splice(0)) raw.close();
    await server.close();
  });

  async function loggedIn(): Promise<RawClient> {
    const { client } = await RawClient.connect(port);
    raws.push(client);
    const reply = await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`);
    expect(reply.at(-1)).toMatch(/^l1 OK /);
    return client;
  }

  async function selected(): Promise<RawClient> {
    const client = await loggedIn();
    expect((await client.command('s1', 'SELECT INBOX')).at(-1)).toMatch(/^s1 OK \[READ-WRITE\]/);
    return client;
  }

  describe('ENABLE, ID, NAMESPACE, CHECK', () => {
    it('advertises IDLE only when an event bus is wired', async () => {
      const { client, greeting } = await RawClient.connect(port);
      raws.push(client);
      expect(greeting).toContain(' IDLE ');
      await server.close();
      await start(false);
      const other = await RawClient.connect(port);
      raws.push(other.client);
      expect(other.greeting).not.toContain('IDLE');
      await other.client.command('l1', `LOGIN ${USER} "${PASSWORD}"`);
      expect(await other.client.command('a1', 'IDLE')).toEqual(['a1 NO [CANNOT] IDLE is not available on this server']);
    });

    it('enables nothing that is not advertised and accepts ENABLE only after login', async () => {
      const { client } = await RawClient.connect(port);
      raws.push(client);
      expect(await client.command('a0', 'ENABLE CONDSTORE')).toEqual(['a0 BAD [CLIENTBUG] ENABLE: Log in first']);
      await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`);
      expect(await client.command('a1', 'ENABLE CONDSTORE QRESYNC X-UNKNOWN')).toEqual(['* ENABLED', 'a1 OK ENABLE completed']);
      expect(await client.command('a2', 'ENABLE')).toEqual(['a2 BAD Usage: ENABLE <capability>...']);
      await client.command('s1', 'SELECT INBOX');
      expect(await client.command('a3', 'ENABLE CONDSTORE')).toEqual(['a3 BAD [CLIENTBUG] ENABLE: Not allowed in this state']);
    });

    it('answers ID before login, with NIL and with a field list', async () => {
      const { client } = await RawClient.connect(port);
      raws.push(client);
      expect(await client.command('a1', 'ID NIL')).toEqual(['* ID ("name" "Postflow" "vendor" "Postflow")', 'a1 OK ID completed']);
      expect(await client.command('a2', 'ID ("name" "Thunderbird" "version" "128.0")')).toEqual(['* ID ("name" "Postflow" "vendor" "Postflow")', 'a2 OK ID completed']);
      expect(await client.command('a3', 'ID ("name")')).toEqual(['a3 BAD ID takes at most 30 field/value pairs']);
      const many = Array.from({ length: 31 }, (_, i) => `"f${i}" "v"`).join(' ');
      expect((await client.command('a4', `ID (${many})`)).at(-1)).toBe('a4 BAD ID takes at most 30 field/value pairs');
      expect((await client.command('a5', `ID ("${'x'.repeat(31)}" "v")`)).at(-1)).toBe('a5 BAD ID field or value too long');
    });

    it('answers NAMESPACE with the personal namespace and its delimiter', async () => {
      const client = await loggedIn();
      expect(await client.command('a1', 'NAMESPACE')).toEqual(['* NAMESPACE (("" ".")) NIL NIL', 'a1 OK NAMESPACE completed']);
    });

    it('accepts CHECK only with a mailbox selected', async () => {
      const client = await loggedIn();
      expect(await client.command('a1', 'CHECK')).toEqual(['a1 BAD [CLIENTBUG] CHECK: No mailbox selected']);
      await client.command('s1', 'SELECT INBOX');
      expect(await client.command('a2', 'CHECK')).toEqual(['a2 OK CHECK completed']);
    });
  });

  describe('STATUS', () => {
    it('reports counts, UIDs, unseen, deleted and size without selecting', async () => {
      const client = await loggedIn();
      const total = (await Promise.all([1, 2, 3].map(async (uid) => (await mailboxes.listMessages(inbox.id, { from: uid, to: uid })[Symbol.asyncIterator]().next()).value.size))).reduce((a, b) => a + b, 0);
      expect(await client.command('a1', 'STATUS inbox (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ)')).toEqual([
        `* STATUS "INBOX" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY ${inbox.uidValidity} UNSEEN 2 DELETED 0 SIZE ${total} RECENT 0 HIGHESTMODSEQ 3)`,
        'a1 OK STATUS completed',
      ]);
      expect(await client.command('a2', 'STATUS Archive (MESSAGES UNSEEN)')).toEqual(['* STATUS "Archive" (MESSAGES 0 UNSEEN 0)', 'a2 OK STATUS completed']);
    });

    it('refuses a missing mailbox, an unknown item and an empty list', async () => {
      const client = await loggedIn();
      expect(await client.command('a1', 'STATUS Nope (MESSAGES)')).toEqual(['a1 NO [NONEXISTENT] Mailbox does not exist']);
      expect(await client.command('a2', 'STATUS INBOX (MESSAGES BOGUS)')).toEqual(['a2 BAD Unknown STATUS item BOGUS']);
      expect(await client.command('a3', 'STATUS INBOX ()')).toEqual(['a3 BAD Usage: STATUS <mailbox> (<items>)']);
    });

    it('works with imapflow', async () => {
      const flow = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
      flows.push(flow);
      await flow.connect();
      const status = await flow.status('INBOX', { messages: true, unseen: true, uidNext: true });
      expect(status).toMatchObject({ path: 'INBOX', messages: 3, unseen: 2, uidNext: 4 });
    });
  });

  describe('live updates', () => {
    it('reports a delivery and a flag change by another session on NOOP', async () => {
      const client = await selected();
      await deliver(inbox, message({ Subject: 'new' }, 'fresh'));
      await mailboxes.addFlags(inbox.id, { from: 1, to: 1 }, ['\\Answered']);
      expect(await client.command('a1', 'NOOP')).toEqual(['* 4 EXISTS', '* 1 FETCH (UID 1 FLAGS (\\Seen \\Answered))', 'a1 OK NOOP completed']);
      expect(await client.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
    });

    it('pushes EXISTS, EXPUNGE and FETCH FLAGS while idling, and ends on DONE', async () => {
      const client = await selected();
      client.write('a1 IDLE\r\n');
      expect(await client.readLine()).toBe('+ idling');
      await deliver(inbox, message({ Subject: 'pushed' }, 'now'));
      expect(await client.readLine()).toBe('* 4 EXISTS');
      await mailboxes.addFlags(inbox.id, { from: 2, to: 3 }, ['\\Deleted']);
      expect(await client.readLine()).toBe('* 2 FETCH (UID 2 FLAGS (\\Flagged $Important \\Deleted))');
      expect(await client.readLine()).toBe('* 3 FETCH (UID 3 FLAGS (\\Deleted))');
      mailboxes.remove(inbox.id, 2);
      await deliver(inbox, message({ Subject: 'again' }, 'later'));
      expect(await client.readLine()).toBe('* 2 EXPUNGE');
      expect(await client.readLine()).toBe('* 4 EXISTS');
      client.write('DONE\r\n');
      expect(await client.readLine()).toBe('a1 OK IDLE terminated');
      expect(await client.command('a2', 'FETCH 4 UID')).toEqual(['* 4 FETCH (UID 5)', 'a2 OK FETCH completed']);
    });

    it('answers BAD when IDLE is not ended by DONE, and stays usable', async () => {
      const client = await selected();
      client.write('a1 IDLE\r\n');
      expect(await client.readLine()).toBe('+ idling');
      client.write('a2 NOOP\r\n');
      expect(await client.readLine()).toBe('a1 BAD Expected DONE to end IDLE');
      expect(await client.command('a3', 'NOOP')).toEqual(['a3 OK NOOP completed']);
    });

    it('sees a change made by a second imapflow session while idling', async () => {
      const watcher = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
      const writer = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
      flows.push(watcher, writer);
      await watcher.connect();
      await writer.connect();
      await watcher.mailboxOpen('INBOX');
      const exists = new Promise<number>((resolve) => watcher.on('exists', (data: { count: number }) => resolve(data.count)));
      const idling = watcher.idle();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await deliver(inbox, message({ Subject: 'to the watcher' }, 'hi'));
      expect(await exists).toBe(4);
      await writer.logout();
      await watcher.logout();
      await idling.catch(() => undefined);
    });

    it('unregisters its key listener on UNSELECT, on a new SELECT and on disconnect', async () => {
      const client = await selected();
      expect(bus.registrations).toBe(1);
      await client.command('a1', 'SELECT Archive');
      await new Promise((resolve) => setImmediate(resolve));
      expect(bus.registrations).toBe(1);
      await client.command('a2', 'UNSELECT');
      await new Promise((resolve) => setImmediate(resolve));
      expect(bus.registrations).toBe(0);
      await client.command('a3', 'SELECT INBOX');
      client.close();
      for (let i = 0; i < 50 && bus.registrations > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(bus.registrations).toBe(0);
    });
  });

  describe('SEARCH', () => {
    const cases: Array<[string, string]> = [
      ['ALL', '* SEARCH 1 2 3'],
      ['SEEN', '* SEARCH 1'],
      ['UNSEEN', '* SEARCH 2 3'],
      ['FLAGGED KEYWORD $important', '* SEARCH 2'],
      ['UNKEYWORD $Important', '* SEARCH 1 3'],
      ['FROM bob', '* SEARCH 1 3'],
      ['SUBJECT "grüße"', '* SEARCH 2'],
      ['CC dave', '* SEARCH 2'],
      ['HEADER X-Priority ""', '* SEARCH 3'],
      ['BODY noon', '* SEARCH 1'],
      ['TEXT carol', '* SEARCH 2'],
      ['LARGER 1000', '* SEARCH 3'],
      ['SMALLER 1000', '* SEARCH 1 2'],
      ['SINCE 2-Mar-2024', '* SEARCH 2 3'],
      ['BEFORE 2-Mar-2024', '* SEARCH 1'],
      ['ON 5-Mar-2024', '* SEARCH 3'],
      ['SENTON 2-Mar-2024', '* SEARCH 2'],
      ['SENTBEFORE 2-Mar-2024', '* SEARCH 1'],
      ['OR SEEN FLAGGED', '* SEARCH 1 2'],
      ['NOT (SEEN)', '* SEARCH 2 3'],
      ['2:* NOT 3', '* SEARCH 2'],
      ['UID 1,3', '* SEARCH 1 3'],
      ['NEW', '* SEARCH'],
      ['OLD', '* SEARCH 1 2 3'],
      ['CHARSET UTF-8 BODY "grüße"', '* SEARCH 2'],
      ['MODSEQ 2', '* SEARCH 2 3 (MODSEQ 3)'],
    ];
    it.each(cases)('SEARCH %s', async (query, expected) => {
      const client = await selected();
      expect(await client.command('a1', `SEARCH ${query}`)).toEqual([expected, 'a1 OK SEARCH completed']);
    });

    it('answers UID SEARCH with UIDs and takes a literal in UTF-8', async () => {
      const client = await selected();
      mailboxes.remove(inbox.id, 1);
      await client.command('a0', 'NOOP');
      expect(await client.command('a1', 'UID SEARCH FROM bob')).toEqual(['* SEARCH 3', 'a1 OK UID SEARCH completed']);
      const text = Buffer.from('Grüße');
      client.write(`a2 SEARCH CHARSET UTF-8 SUBJECT {${text.length}}\r\n`);
      expect(await client.readLine()).toBe('+ Ready for literal data');
      client.write(Buffer.concat([text, Buffer.from('\r\n')]));
      expect(await client.readUntilTagged('a2')).toEqual(['* SEARCH 1', 'a2 OK SEARCH completed']);
    });

    it('answers ESEARCH return options', async () => {
      const client = await selected();
      expect(await client.command('a1', 'SEARCH RETURN (MIN MAX COUNT) UNSEEN')).toEqual(['* ESEARCH (TAG "a1") MIN 2 MAX 3 COUNT 2', 'a1 OK SEARCH completed']);
      expect(await client.command('a2', 'UID SEARCH RETURN () ALL')).toEqual(['* ESEARCH (TAG "a2") UID ALL 1:3', 'a2 OK UID SEARCH completed']);
      expect(await client.command('a3', 'SEARCH RETURN (COUNT ALL) DRAFT')).toEqual(['* ESEARCH (TAG "a3") COUNT 0', 'a3 OK SEARCH completed']);
      // SAVE is SEARCHRES (RFC 5182): no ESEARCH answer when alone; other unknown options are BAD.
      expect(await client.command('a4', 'SEARCH RETURN (SAVE) ALL')).toEqual(['a4 OK SEARCH completed, result saved']);
      expect(await client.command('a5', 'SEARCH RETURN (PARTIAL 1:5) ALL')).toEqual(['a5 BAD Unknown SEARCH return option']);
    });

    it('works with imapflow', async () => {
      const flow = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
      flows.push(flow);
      await flow.connect();
      await flow.mailboxOpen('INBOX');
      expect(await flow.search({ seen: false, from: 'bob' })).toEqual([3]);
      expect(await flow.search({ or: [{ flagged: true }, { subject: 'lunch' }] }, { uid: true })).toEqual([1, 2]);
    });

    it('refuses a bad charset with BADCHARSET, bad keys and bad sets with BAD', async () => {
      const client = await selected();
      expect(await client.command('a1', 'SEARCH CHARSET KOI8-R BODY x')).toEqual(['a1 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset KOI8-R']);
      expect(await client.command('a2', 'SEARCH BOGUS')).toEqual(['a2 BAD Unknown SEARCH key BOGUS']);
      expect(await client.command('a3', 'SEARCH 0:4')).toEqual(['a3 BAD [CLIENTBUG] Invalid sequence set "0:4"']);
      expect(await client.command('a4', 'SEARCH SINCE 31-Foo-2024')).toEqual(['a4 BAD Invalid date "31-Foo-2024" in SEARCH']);
      expect(await client.command('a5', 'SEARCH FROM')).toEqual(['a5 BAD Missing FROM value in SEARCH']);
      expect(await client.command('a6', 'SEARCH (SEEN')).toEqual(['a6 BAD [CLIENTBUG] Unterminated list at position 15']);
      expect(await client.command('a7', 'SEARCH')).toEqual(['a7 BAD SEARCH needs at least one search key']);
    });

    it('bounds a huge OR tree and stays usable', async () => {
      const client = await selected();
      const huge = `${'OR SEEN '.repeat(5000)}SEEN`;
      const reply = await client.command('a1', `SEARCH ${huge}`);
      expect(reply).toEqual(['a1 BAD [LIMIT] SEARCH has more than 1000 keys']);
      const fine = `${'OR SEEN '.repeat(400)}FLAGGED`;
      expect(await client.command('a2', `SEARCH ${fine}`)).toEqual(['* SEARCH 1 2', 'a2 OK SEARCH completed']);
    });
  });

  describe('COMPRESS=DEFLATE', () => {
    it('compresses both directions after the tagged OK, and refuses a second COMPRESS', async () => {
      const client = await selected();
      expect(await client.command('c1', 'COMPRESS DEFLATE')).toEqual(['c1 OK DEFLATE active']);
      const deflate = createDeflateRaw();
      const inflate = createInflateRaw();
      const received: Buffer[] = [];
      inflate.on('data', (chunk: Buffer) => received.push(chunk));
      client.onRaw((chunk) => inflate.write(chunk));
      const send = (text: string): void => {
        deflate.write(text);
        deflate.flush(zlibConstants.Z_SYNC_FLUSH);
      };
      deflate.on('data', (chunk: Buffer) => client.write(chunk));
      const until = async (tagged: string): Promise<string> => {
        for (let i = 0; i < 200; i++) {
          const text = Buffer.concat(received).toString('utf8');
          if (text.includes(tagged)) return text;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error(`no ${tagged} in ${Buffer.concat(received).toString('utf8')}`);
      };
      send('c2 FETCH 1:3 (UID FLAGS)\r\n');
      expect(await until('c2 OK')).toBe('* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n* 2 FETCH (UID 2 FLAGS (\\Flagged $Important))\r\n* 3 FETCH (UID 3 FLAGS ())\r\nc2 OK FETCH completed\r\n');
      received.length = 0;
      send('c3 COMPRESS DEFLATE\r\n');
      expect(await until('c3 ')).toBe('c3 NO [COMPRESSIONACTIVE] Compression is already active\r\n');
      received.length = 0;
      send('c4 LOGOUT\r\n');
      expect(await until('c4 OK')).toBe('* BYE Postflow IMAP logging out\r\nc4 OK LOGOUT completed\r\n');
      await client.waitClosed();
    });

    it('serves imapflow with compression on: bodies and IDLE', async () => {
      const flow = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
      flows.push(flow);
      await flow.connect();
      expect(flow.capabilities.has('COMPRESS=DEFLATE')).toBe(true);
      await flow.mailboxOpen('INBOX');
      const big = await flow.fetchOne('3', { source: true });
      expect(big && big.source?.toString('utf8')).toContain('x'.repeat(5000));
      const exists = new Promise<number>((resolve) => flow.on('exists', (data: { count: number }) => resolve(data.count)));
      const idling = flow.idle();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await deliver(inbox, message({ Subject: 'compressed push' }, 'hi'));
      expect(await exists).toBe(4);
      await flow.logout();
      await idling.catch(() => undefined);
    });

    it('refuses an unknown mechanism and COMPRESS before login', async () => {
      const { client } = await RawClient.connect(port);
      raws.push(client);
      expect(await client.command('a1', 'COMPRESS DEFLATE')).toEqual(['a1 BAD [CLIENTBUG] COMPRESS: Log in first']);
      await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`);
      expect(await client.command('a2', 'COMPRESS LZMA')).toEqual(['a2 BAD Unknown compression mechanism LZMA']);
    });
  });

  describe('limits', () => {
    async function restart(options: Partial<ImapServerOptions>): Promise<void> {
      await server.close();
      await start(true, options);
    }

    it('refuses a connection over the per-address limit with BYE [LIMIT] and accepts again once one closes', async () => {
      await restart({ connectionLimits: { perIp: 2, perUser: 10 } });
      const first = await RawClient.connect(port);
      const second = await RawClient.connect(port);
      raws.push(first.client, second.client);
      const third = await RawClient.connect(port);
      raws.push(third.client);
      expect(third.greeting).toBe('* BYE [LIMIT] Too many connections from your address');
      await third.client.waitClosed();
      first.client.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const fourth = await RawClient.connect(port);
      raws.push(fourth.client);
      expect(fourth.greeting).toMatch(/^\* OK /);
    });

    it('answers LOGIN over the per-user limit with NO [LIMIT], and frees the slot on logout', async () => {
      await restart({ connectionLimits: { perIp: 10, perUser: 1 } });
      const first = await loggedIn();
      const { client } = await RawClient.connect(port);
      raws.push(client);
      expect(await client.command('a1', `LOGIN ${USER} "${PASSWORD}"`)).toEqual(['a1 NO [LIMIT] Too many connections for this user']);
      expect(await client.command('a2', 'SELECT INBOX')).toEqual(['a2 BAD [CLIENTBUG] SELECT: Log in first']);
      await first.command('a3', 'LOGOUT');
      await first.waitClosed();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await client.command('a4', `LOGIN ${USER} "${PASSWORD}"`)).at(-1)).toMatch(/^a4 OK /);
    });

    it('drops a client that announces a literal and never sends it, and keeps serving others', async () => {
      await restart({ timeouts: { commandCompletionMs: 300 } });
      const { client } = await RawClient.connect(port);
      raws.push(client);
      client.write('a1 LOGIN {11}\r\n');
      expect(await client.readLine()).toBe('+ Ready for literal data');
      expect(await client.readLine()).toBe('* BYE Timed out waiting for the rest of the command');
      await client.waitClosed();
      const other = await loggedIn();
      expect(await other.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
    });

    it('answers a literal announced over the limit with BAD and never asks for it', async () => {
      const client = await loggedIn();
      client.write('a1 SEARCH TEXT {99999999}\r\n');
      expect(await client.readLine()).toBe('a1 BAD [TOOBIG] Literal too large');
      expect(await client.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
    });

    it('survives a login flood: every guesser gets NO then BYE, a real user still logs in', async () => {
      const flood = Array.from({ length: 30 }, async () => {
        const { client } = await RawClient.connect(port);
        raws.push(client);
        const replies: string[] = [];
        for (let i = 0; i < 3; i++) replies.push(...(await client.command(`g${i}`, `LOGIN ${USER} "guess${i}"`)));
        replies.push(await client.readLine());
        await client.waitClosed();
        return replies;
      });
      const user = loggedIn();
      const results = await Promise.all(flood);
      for (const replies of results) {
        expect(replies).toEqual([
          'g0 NO [AUTHENTICATIONFAILED] Invalid credentials',
          'g1 NO [AUTHENTICATIONFAILED] Invalid credentials',
          'g2 NO [AUTHENTICATIONFAILED] Invalid credentials',
          '* BYE Too many failed login attempts',
        ]);
      }
      const client = await user;
      expect(await client.command('a1', 'NOOP')).toEqual(['a1 OK NOOP completed']);
    });

    it('sends garbage bytes BAD and keeps the heap bounded over many bad commands', async () => {
      const client = await loggedIn();
      const before = process.memoryUsage().heapUsed;
      const garbage = Buffer.alloc(50_000);
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131) % 256 === 10 ? 0 : (i * 131) % 256;
      for (let i = 0; i < 20; i++) {
        client.write(Buffer.concat([Buffer.from(`x${i} `), garbage, Buffer.from('\r\n')]));
        expect((await client.readLine()).startsWith(`x${i} BAD`)).toBe(true);
      }
      expect(await client.command('a1', 'NOOP')).toEqual(['a1 OK NOOP completed']);
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
    });
  });
});
