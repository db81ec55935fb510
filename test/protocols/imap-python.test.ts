import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { createImapServer, type ImapServer } from '../../src/protocols/imap';
import { imapClient, startNodeWithUsers, type TestNode } from '../helpers/postflow';
import { MemoryBlobStore, MemoryKeyBus, MemoryMailboxStore } from './imap/doubles';

const run = promisify(execFile);
const USER = 'py@example.com';
/** Quote and backslash: imaplib must quote them, the server must unescape them. */
const PASSWORD = 'p"ss\\word';
const BODY = 'From: bob@example.com\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\nHallo\r\n';

/** NAMESPACE of a server without a mailbox manager (personal only). */
const PERSONAL_ONLY = '(("" ".")) NIL NIL';
/** NAMESPACE of a node: shared mailboxes of other users under `#user.` (ACL). */
const WITH_OTHER_USERS = '(("" ".")) (("#user." ".")) NIL';

/** Runs imaplib_client.py against `port` and checks what each command got back. */
async function expectImaplibSession(port: number, user: string, password: string, namespace: string): Promise<void> {
  const { stdout } = await run('python3', [path.join(__dirname, 'imap', 'imaplib_client.py'), String(port), user, password], { timeout: 20_000 });
  const out = JSON.parse(stdout) as Record<string, unknown>;
  expect(out).toMatchObject({
    login: 'OK',
    namespace: [namespace],
    select: ['OK', '1'],
    status: '"INBOX" (MESSAGES 1 UNSEEN 1 UIDNEXT 2)',
    search_literal: '1',
    search: '1',
    uid_search: '1',
    fetch_header: `1 (UID 1 RFC822.SIZE ${Buffer.byteLength(BODY)} BODY[] {${Buffer.byteLength(BODY)}}`,
    fetch_body: BODY,
    noop: 'OK',
    logout: 'BYE',
  });
  expect(out.capabilities).toEqual(expect.arrayContaining(['IMAP4REV1', 'IDLE', 'NAMESPACE', 'ESEARCH']));
  expect(out.bad_state).toContain('Unknown command');
}

describe('IMAP with Python imaplib as the client (in-memory stores)', () => {
  let server: ImapServer;
  let port: number;

  beforeAll(async () => {
    const mailboxes = new MemoryMailboxStore();
    const blobs = new MemoryBlobStore();
    const inbox = await mailboxes.createMailbox(USER, 'INBOX');
    const stored = await blobs.put(MAIL_BUCKET, Buffer.from(BODY));
    await mailboxes.appendMessage(inbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date('2024-03-01T10:00:00Z'), flags: ['\\Flagged'] });
    server = createImapServer(
      { mailboxes, blobs, events: new MemoryKeyBus(), logger: pino({ level: 'silent' }), authenticate: async (u, p) => (u === USER && p === PASSWORD ? USER : null) },
      { host: '127.0.0.1', port: 0 },
    );
    ({ port } = await server.listen());
  });

  afterAll(async () => {
    await server.close();
  });

  it('logs in with a quoted password, searches with a literal and fetches the body', async () => {
    await expectImaplibSession(port, USER, PASSWORD, PERSONAL_ONLY);
  });
});

/** The same session against a whole node of each profile (users over WebAdmin, the message appended by another client). */
describe.each(['embedded', 'distributed'] as const)('IMAP with Python imaplib as the client, %s profile', (profile) => {
  const user = `py-${profile}@python.example`;
  let node: TestNode;

  beforeAll(async () => {
    node = await startNodeWithUsers(profile, 'python.example', [user], PASSWORD);
    const client = imapClient(node.app.ports.imap as number, user, PASSWORD);
    await client.connect();
    try {
      await client.append('INBOX', BODY, ['\\Flagged'], new Date('2024-03-01T10:00:00Z'));
    } finally {
      await client.logout();
    }
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  it('logs in with a quoted password, searches with a literal and fetches the body', async () => {
    await expectImaplibSession(node.app.ports.imap as number, user, PASSWORD, WITH_OTHER_USERS);
  });
});
