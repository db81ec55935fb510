import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { MessageMetadata } from '../../src/mailbox/api/mailbox-store';
import { createImapServer, type ImapServer } from '../../src/protocols/imap';
import type { ImapSearchDeps } from '../../src/protocols/imap/search/index-search';
import { RawClient } from '../protocols/imap/doubles';
import { eventually, logger, mail, searchStack, type SearchStack } from './fixture';

const USER = 'alice@example.com';
const PASSWORD = 'correct horse';

describe('IMAP SEARCH and SORT on the search index (SQLite FTS5)', () => {
  let stack: SearchStack;
  let server: ImapServer;
  let port: number;
  let messages: MessageMetadata[];
  const clients: RawClient[] = [];

  beforeEach(async () => {
    stack = await searchStack();
    const inbox = await stack.backends.mailboxes.ensureMailbox(USER, 'INBOX');
    messages = [
      await stack.deliver(inbox.id, mail('Zebra crossing', 'apples and oranges'), []),
      await stack.deliver(inbox.id, mail('Apple pie', 'a recipe with pears', 'X-Ticket: PF-77\n'), ['\\Seen']),
      await stack.deliver(inbox.id, mail('Meeting notes', 'apples again, and plums')),
    ];
    await eventually(async () => (await stack.index.count(inbox.id)) === 3);
    const deps: ImapSearchDeps = {
      mailboxes: stack.backends.mailboxes,
      blobs: stack.backends.blobs,
      search: stack.index,
      logger,
      authenticate: async (username, password) => (username === USER && password === PASSWORD ? USER : null),
    };
    server = createImapServer(deps, { host: '127.0.0.1', port: 0 });
    ({ port } = await server.listen());
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server?.close();
    await stack?.cleanup();
  });

  async function selected(): Promise<RawClient> {
    const { client } = await RawClient.connect(port);
    clients.push(client);
    expect((await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`)).at(-1)).toMatch(/^l1 OK/);
    expect((await client.command('s1', 'SELECT INBOX')).at(-1)).toMatch(/^s1 OK/);
    return client;
  }

  async function search(client: RawClient, command: string): Promise<string> {
    const lines = await client.command('t1', command);
    expect(lines.at(-1)).toMatch(/^t1 OK/);
    return lines.find((l) => /^\* (SEARCH|SORT|ESEARCH)/.test(l)) as string;
  }

  it('answers content keys from the index: a message whose stored bytes are gone is still found by its text', async () => {
    await stack.backends.blobs.delete(MAIL_BUCKET, messages[2].blobId);
    const client = await selected();
    expect(await search(client, 'SEARCH BODY plums')).toBe('* SEARCH 3');
    expect(await search(client, 'SEARCH BODY apples')).toBe('* SEARCH 1 3');
    expect(await search(client, 'SEARCH HEADER X-Ticket PF-77')).toBe('* SEARCH 2');
    expect(await search(client, 'SEARCH SUBJECT meeting')).toBe('* SEARCH 3');
    expect(await search(client, 'SEARCH FROM bob@example.org')).toBe('* SEARCH 1 2 3');
  });

  it('reads and evaluates messages the index does not know yet, so a search right after delivery is exact', async () => {
    const inbox = messages[0].mailboxId;
    await stack.index.delete(inbox, [messages[2].uid]);
    const client = await selected();
    expect(await search(client, 'SEARCH BODY plums')).toBe('* SEARCH 3');
    expect(await search(client, 'UID SEARCH BODY apples')).toBe(`* SEARCH ${messages[0].uid} ${messages[2].uid}`);
  });

  it('evaluates flags against the session view, exact right after STORE, combined with content keys, NOT and OR', async () => {
    const client = await selected();
    expect((await client.command('f1', 'STORE 3 +FLAGS (\\Flagged)')).at(-1)).toMatch(/^f1 OK/);
    expect(await search(client, 'SEARCH FLAGGED BODY apples')).toBe('* SEARCH 3');
    expect(await search(client, 'SEARCH NOT BODY apples')).toBe('* SEARCH 2');
    expect(await search(client, 'SEARCH OR SUBJECT pie BODY plums')).toBe('* SEARCH 2 3');
    expect(await search(client, 'SEARCH UNSEEN NOT SUBJECT zebra')).toBe('* SEARCH 3');
    expect(await search(client, 'SEARCH SENTSINCE 1-May-2024 BODY pears')).toBe('* SEARCH 2');
    expect(await search(client, 'SEARCH RETURN (COUNT) BODY apples')).toMatch(/COUNT 2$/);
  });

  it('sorts the matches of content keys', async () => {
    const client = await selected();
    expect(await search(client, 'SORT (SUBJECT) UTF-8 BODY apples')).toBe('* SORT 3 1');
    expect(await search(client, 'SORT (REVERSE SUBJECT) UTF-8 TEXT a')).toBe('* SORT 1 3 2');
  });

  it('reads only the candidate messages of content keys, and stays exact for the others', async () => {
    const inbox = messages[0].mailboxId;
    for (let i = 0; i < 80; i++) await stack.deliver(inbox, mail(`Bulk ${i}`, i === 70 ? 'a rare kumquat' : 'filler text'), i % 2 === 0 ? ['\\Seen'] : []);
    await eventually(async () => (await stack.index.count(inbox)) === 83);
    // The real adapter, counting the message rows SEARCH reads from it.
    let rowsRead = 0;
    const mailboxes = stack.backends.mailboxes;
    const counting = Object.create(mailboxes) as typeof mailboxes;
    counting.listMessages = async function* (mailboxId, range) {
      for await (const message of mailboxes.listMessages(mailboxId, range)) {
        rowsRead++;
        yield message;
      }
    };
    const countingServer = createImapServer(
      { mailboxes: counting, blobs: stack.backends.blobs, search: stack.index, logger, authenticate: async (u, p) => (u === USER && p === PASSWORD ? USER : null) } as ImapSearchDeps,
      { host: '127.0.0.1', port: 0 },
    );
    const { port: countingPort } = await countingServer.listen();
    try {
      const { client } = await RawClient.connect(countingPort);
      clients.push(client);
      expect((await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`)).at(-1)).toMatch(/^l1 OK/);
      expect((await client.command('s1', 'SELECT INBOX')).at(-1)).toMatch(/^s1 OK/);
      rowsRead = 0;
      expect(await search(client, 'SEARCH BODY kumquat')).toBe('* SEARCH 74');
      expect(rowsRead).toBe(1);
      rowsRead = 0;
      expect(await search(client, 'SEARCH UNSEEN SUBJECT "Bulk 7"')).toBe('* SEARCH 11 75 77 79 81 83');
      expect(rowsRead).toBeLessThan(83);
      // Keys the index cannot narrow read the whole mailbox, and stay exact.
      rowsRead = 0;
      expect(await search(client, 'SEARCH NOT BODY filler')).toBe('* SEARCH 1 2 3 74');
      expect(rowsRead).toBe(83);
      expect(await search(client, 'SEARCH OR BODY kumquat SUBJECT pie')).toBe('* SEARCH 2 74');
      expect(await search(client, 'SEARCH BODY nothingmatchesthis')).toBe('* SEARCH');
    } finally {
      await countingServer.close();
    }
  });

  it('answers BAD to malformed search keys', async () => {
    const client = await selected();
    expect((await client.command('b1', 'SEARCH BODY')).at(-1)).toMatch(/^b1 BAD/);
    expect((await client.command('b2', 'SEARCH HEADER')).at(-1)).toMatch(/^b2 BAD/);
    expect((await client.command('b3', 'SEARCH NOSUCHKEY x')).at(-1)).toMatch(/^b3 BAD/);
  });
});
