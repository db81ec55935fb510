import { MAX_APPEND_SIZE } from '../../src/protocols/imap/limits';
import { adminPut, startTestNode, type TestNode } from '../helpers/postflow';
import { RawClient } from './imap/doubles';

const DOMAIN = 'append-limits.example';
const PASSWORD = 'correct horse';

/** A message of about `size` bytes of numbered lines, so any window of it is recognizable. */
function bigMessage(size: number): Buffer {
  const header = 'From: big@remote.example\r\nSubject: Big\r\n\r\n';
  const lines: string[] = [];
  let length = header.length;
  for (let i = 0; length < size; i++) {
    const line = `line ${String(i).padStart(9, '0')} ${'abcdefghij'.repeat(6)}\r\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(header + lines.join(''));
}

/** APPEND of large messages (chunked literal, streamed to the blob store) and APPENDLIMIT (RFC 7889), on a real node. */
describe.each(['embedded', 'distributed'] as const)('IMAP APPEND limits on the %s profile', (profile) => {
  let node: TestNode;
  let port: number;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    node = await startTestNode(profile, { smtp: { submissionPort: 0, tlsPort: 0 } });
    port = node.app.ports.imap as number;
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await node?.stop();
  });

  async function loggedIn(user: string): Promise<RawClient> {
    expect((await adminPut(node.webadmin, `/users/${user}@${DOMAIN}`, { password: PASSWORD })).status).toBe(204);
    const { client } = await RawClient.connect(port);
    clients.push(client);
    expect((await client.command('l1', `LOGIN ${user}@${DOMAIN} "${PASSWORD}"`)).at(-1)).toMatch(/^l1 OK/);
    return client;
  }

  it('stores a 20 MB APPEND byte for byte and serves any window of it', async () => {
    const client = await loggedIn('big');
    const bytes = bigMessage(20 * 1024 * 1024);
    client.write(`a1 APPEND INBOX {${bytes.length}}\r\n`);
    expect(await client.readLine()).toMatch(/^\+ /);
    client.write(bytes);
    client.write('\r\n');
    expect((await client.readUntilTagged('a1')).at(-1)).toMatch(/^a1 OK \[APPENDUID \d+ 1\] APPEND completed$/);
    expect((await client.command('a2', 'EXAMINE INBOX')).at(-1)).toMatch(/^a2 OK/);
    expect(await client.command('a3', 'FETCH 1 (RFC822.SIZE)')).toEqual([`* 1 FETCH (RFC822.SIZE ${bytes.length})`, 'a3 OK FETCH completed']);
    for (const start of [0, 10 * 1024 * 1024 + 7, bytes.length - 100]) {
      client.write(`a4 FETCH 1 (BODY.PEEK[]<${start}.100>)\r\n`);
      expect(await client.readLine()).toBe(`* 1 FETCH (BODY[]<${start}> {100}`);
      expect((await client.readBytes(100)).equals(bytes.subarray(start, start + 100))).toBe(true);
      expect(await client.readUntilTagged('a4')).toEqual([')', 'a4 OK FETCH completed']);
    }
  }, 120_000);

  it('refuses a synchronizing APPEND over APPENDLIMIT with NO [TOOBIG] without asking for it', async () => {
    const client = await loggedIn('sync');
    expect(await client.command('a1', `APPEND INBOX {${MAX_APPEND_SIZE + 1}}`)).toEqual(['a1 NO [TOOBIG] Literal too large']);
    expect(await client.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
    expect(await client.command('a3', 'STATUS INBOX (MESSAGES)')).toEqual(['* STATUS "INBOX" (MESSAGES 0)', 'a3 OK STATUS completed']);
  });

  it('answers BAD [TOOBIG] to a non-synchronizing APPEND over the limit, skips its bytes and keeps the session', async () => {
    const client = await loggedIn('nonsync');
    const size = MAX_APPEND_SIZE + 1;
    client.write(`a1 APPEND INBOX {${size}+}\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let sent = 0; sent < size; sent += chunk.length) client.write(chunk.subarray(0, Math.min(chunk.length, size - sent)));
    client.write('\r\n');
    expect(await client.readUntilTagged('a1')).toEqual(['a1 BAD [TOOBIG] Literal too large']);
    expect(await client.command('a2', 'NOOP')).toEqual(['a2 OK NOOP completed']);
    expect(await client.command('a3', 'STATUS INBOX (MESSAGES)')).toEqual(['* STATUS "INBOX" (MESSAGES 0)', 'a3 OK STATUS completed']);
  }, 60_000);

  it('refuses a MULTIAPPEND whose messages together exceed the command bound before reading the last one, storing none', async () => {
    const client = await loggedIn('multi');
    // A message at the limit, then one more: over MAX_APPEND_COMMAND_SIZE (2 × APPENDLIMIT) in total.
    client.write(`a1 APPEND INBOX {5+}\r\nHello {${MAX_APPEND_SIZE}+}\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let sent = 0; sent < MAX_APPEND_SIZE; sent += chunk.length) client.write(chunk.subarray(0, Math.min(chunk.length, MAX_APPEND_SIZE - sent)));
    client.write(` {${MAX_APPEND_SIZE}}\r\n`);
    expect(await client.readUntilTagged('a1')).toEqual(['a1 NO [TOOBIG] Command too large']);
    expect(await client.command('a2', 'STATUS INBOX (MESSAGES)')).toEqual(['* STATUS "INBOX" (MESSAGES 0)', 'a2 OK STATUS completed']);
  }, 60_000);
});
