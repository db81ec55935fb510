import { ImapFlow } from 'imapflow';
import { adminPut, startTestNode, type TestNode } from '../helpers/postflow';

const DOMAIN = 'flow.example';
const PASSWORD = 'flow secret';

function raw(subject: string): string {
  return [
    'From: "Ann Sender" <ann@remote.example>',
    `To: user@${DOMAIN}`,
    `Subject: ${subject}`,
    'Date: Fri, 08 Mar 2024 09:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Plain text',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>HTML</p>',
    '--b1--',
    '',
  ].join('\r\n');
}

/** imapflow (the IMAP client of many Node mail apps) against a real node of each profile. */
describe.each(['embedded', 'distributed'] as const)('imapflow against the %s profile', (profile) => {
  let node: TestNode;
  const clients: ImapFlow[] = [];
  const user = `flow-${profile}@${DOMAIN}`;

  beforeAll(async () => {
    node = await startTestNode(profile, { smtp: { submissionPort: 0, tlsPort: 0 } });
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await node?.stop();
  });

  async function connect(): Promise<ImapFlow> {
    const client = new ImapFlow({ host: '127.0.0.1', port: node.app.ports.imap as number, secure: false, auth: { user, pass: PASSWORD }, logger: process.env.DEBUG_IMAPFLOW ? undefined : false });
    clients.push(client);
    await client.connect();
    return client;
  }

  it('creates, appends, fetches the structure, flags, moves and deletes', async () => {
    const client = await connect();
    expect(client.capabilities.has('COMPRESS=DEFLATE')).toBe(true);
    await client.mailboxCreate('Projects');
    const appended = await client.append('INBOX', raw('Structure'), ['\\Flagged'], new Date('2024-03-08T10:00:00Z'));
    expect(appended).toMatchObject({ destination: 'INBOX', uid: 1 });
    const listed = await client.list();
    expect(listed.find((box) => box.path === 'Sent')?.specialUse).toBe('\\Sent');
    expect(listed.map((box) => box.path)).toContain('Projects');

    const lock = await client.getMailboxLock('INBOX');
    try {
      const message = await client.fetchOne('1', { envelope: true, bodyStructure: true, flags: true, uid: true, source: true }, { uid: true });
      expect(message && message.envelope?.subject).toBe('Structure');
      expect(message && message.envelope?.from).toEqual([{ name: 'Ann Sender', address: 'ann@remote.example' }]);
      expect(message && message.bodyStructure?.type).toBe('multipart/alternative');
      expect(message && message.bodyStructure?.childNodes?.map((part) => part.type)).toEqual(['text/plain', 'text/html']);
      expect(message && message.source?.toString()).toBe(raw('Structure'));
      const { content } = await client.download('1', '2', { uid: true });
      expect(Buffer.concat(await content.toArray()).toString()).toBe('<p>HTML</p>');

      await client.messageFlagsAdd('1', ['$Important'], { uid: true });
      expect((await client.fetchOne('1', { flags: true }, { uid: true })) && [...((await client.fetchOne('1', { flags: true }, { uid: true })) as { flags: Set<string> }).flags].sort()).toEqual(['$Important', '\\Flagged']);
      expect(await client.search({ flagged: true, subject: 'structure' }, { uid: true })).toEqual([1]);

      const moved = await client.messageMove('1', 'Projects', { uid: true });
      expect(moved && moved.uidMap?.get(1)).toBe(1);
    } finally {
      lock.release();
    }
    expect(await client.status('Projects', { messages: true })).toMatchObject({ messages: 1 });
    const projects = await client.getMailboxLock('Projects');
    try {
      expect(await client.messageDelete('1', { uid: true })).toBe(true);
    } finally {
      projects.release();
    }
    expect(await client.status('Projects', { messages: true })).toMatchObject({ messages: 0 });
    await client.mailboxDelete('Projects');
  });

  it('pushes an append made by a second session to an idling one', async () => {
    const watcher = await connect();
    const writer = await connect();
    await watcher.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => watcher.on('exists', (data: { count: number }) => resolve(data.count)));
    const idling = watcher.idle();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = watcher.mailbox ? watcher.mailbox.exists : 0;
    await writer.append('INBOX', raw('Pushed'));
    expect(await exists).toBe(before + 1);
    await writer.logout();
    await watcher.logout();
    await idling.catch(() => undefined);
  });
});
