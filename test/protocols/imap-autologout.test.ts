import pino from 'pino';
import { createImapServer, type ImapServer } from '../../src/protocols/imap';
import { IDLE_TIMEOUT_MS } from '../../src/protocols/imap/limits';
import { MemoryBlobStore, MemoryMailboxStore, RawClient } from './imap/doubles';

const USER = 'alice@example.com';
const PASSWORD = 'secret';
/**
 * Shortened for the test; the product's timer is IDLE_TIMEOUT_MS. Long enough that a command every
 * IDLE_MS / 5 keeps a wide margin on a loaded machine (600 ms with a command every 300 ms timed out
 * once in CI, running beside the other suites).
 */
const IDLE_MS = 1500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** RFC 9051 §5.4 (Appendix E item 28): any command resets the autologout timer, which is at least 30 minutes. */
describe('IMAP autologout timer', () => {
  let server: ImapServer;
  let port: number;
  const raws: RawClient[] = [];

  beforeEach(async () => {
    const mailboxes = new MemoryMailboxStore();
    await mailboxes.createMailbox(USER, 'INBOX');
    const logger = pino({ level: 'silent' });
    server = createImapServer(
      { mailboxes, blobs: new MemoryBlobStore(), logger, authenticate: async (u, p) => (u === USER && p === PASSWORD ? USER : null) },
      { host: '127.0.0.1', port: 0, logger, timeouts: { idleMs: IDLE_MS } },
    );
    ({ port } = await server.listen());
  });

  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.close();
    await server.close();
  });

  it('is at least 30 minutes', () => {
    expect(IDLE_TIMEOUT_MS).toBeGreaterThanOrEqual(30 * 60 * 1000);
  });

  it('is reset by every command, and logs an inactive client out with BYE', async () => {
    const { client } = await RawClient.connect(port);
    raws.push(client);
    expect((await client.command('a1', `LOGIN ${USER} ${PASSWORD}`)).at(-1)).toMatch(/^a1 OK/);
    // Commands every IDLE_MS / 5 for three timer lengths: the session stays.
    const started = Date.now();
    for (let i = 0; Date.now() - started < 3 * IDLE_MS; i++) {
      await sleep(IDLE_MS / 5);
      expect(await client.command(`n${i}`, 'NOOP')).toEqual([`n${i} OK NOOP completed`]);
    }
    // Then silence: BYE and the connection is closed.
    expect(await client.readLine()).toBe('* BYE Autologout; idle for too long');
    await client.waitClosed();
    expect(client.closed).toBe(true);
  });
});
