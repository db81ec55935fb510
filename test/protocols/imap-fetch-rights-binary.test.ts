import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { decodeTransferEncoding } from '../../src/protocols/imap/binary';
import { INLINE_BINARY_MAX } from '../../src/protocols/imap/commands/fetch';
import { adminPut, startNodeWithUsers, startTestNode, type TestNode } from '../helpers/postflow';
import { RawClient } from './imap/doubles';

const DOMAIN = 'fetchrights.example';
const PASSWORD = 'correct horse';
const OWNER = `owner@${DOMAIN}`;
const READER = `reader@${DOMAIN}`;
const SHARED = '#user.owner@fetchrights^example.Team';

/** RFC 4314 §4: a non-PEEK FETCH sets \Seen only with the `s` right; without it the fetch still answers. */
describe.each(['embedded', 'distributed'] as const)('FETCH and the \\Seen right on the %s profile', (profile) => {
  let node: TestNode;
  let port: number;
  const clients: RawClient[] = [];

  async function login(user: string): Promise<RawClient> {
    const client = await RawClient.login(port, user, PASSWORD);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    node = await startNodeWithUsers(profile, DOMAIN, [OWNER, READER], PASSWORD);
    port = node.app.ports.imap as number;
    const owner = await login(OWNER);
    expect((await owner.command('o1', 'CREATE Team')).at(-1)).toMatch(/^o1 OK/);
    for (const [i, subject] of ['One', 'Two', 'Three', 'Four'].entries()) {
      owner.write(`o${i + 2} APPEND Team {${19 + subject.length}+}\r\nSubject: ${subject}\r\n\r\nbody\r\n\r\n`);
      expect((await owner.readUntilTagged(`o${i + 2}`)).at(-1)).toMatch(new RegExp(`^o${i + 2} OK \\[APPENDUID \\d+ ${i + 1}\\]`));
    }
    // Read-write without `s`: `w` lets the reader change other flags.
    expect(await owner.command('o9', `SETACL Team ${READER} lrw`)).toEqual(['o9 OK SETACL completed']);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await node?.stop();
  });

  it('answers BODY[], RFC822.TEXT and BINARY[] without setting \\Seen when the user lacks `s`, and sets it once `s` is granted', async () => {
    const reader = await login(READER);
    expect((await reader.command('a1', `SELECT "${SHARED}"`)).at(-1)).toBe('a1 OK [READ-WRITE] SELECT completed');
    expect(await reader.command('a2', 'FETCH 1 (BODY[TEXT])')).toEqual(['* 1 FETCH (BODY[TEXT] {6}', 'body', ')', 'a2 OK FETCH completed']);
    expect(await reader.command('a3', 'FETCH 2 (RFC822.TEXT)')).toEqual(['* 2 FETCH (RFC822.TEXT {6}', 'body', ')', 'a3 OK FETCH completed']);
    expect(await reader.command('a4', 'FETCH 2 (BINARY[1])')).toEqual(['* 2 FETCH (BINARY[1] ~{6}', 'body', ')', 'a4 OK FETCH completed']);
    expect(await reader.command('a5', 'FETCH 1:2 (FLAGS)')).toEqual(['* 1 FETCH (FLAGS ())', '* 2 FETCH (FLAGS ())', 'a5 OK FETCH completed']);
    // `w` still works: the session is read-write, only \Seen is out of reach.
    expect(await reader.command('a6', 'STORE 1 +FLAGS (\\Flagged)')).toEqual(['* 1 FETCH (FLAGS (\\Flagged))', 'a6 OK STORE completed']);

    // Granted while the reader has the mailbox selected: the next FETCH sees it.
    const owner = await login(OWNER);
    expect(await owner.command('b1', `SETACL Team ${READER} +s`)).toEqual(['b1 OK SETACL completed']);
    const fetched = await reader.command('a7', 'FETCH 3 (BODY[TEXT])');
    expect(fetched).toEqual(['* 3 FETCH (BODY[TEXT] {6}', 'body', ' FLAGS (\\Seen))', 'a7 OK FETCH completed']);

    // Revoked again: no \Seen for message 4, and no error.
    expect(await owner.command('b2', `SETACL Team ${READER} -s`)).toEqual(['b2 OK SETACL completed']);
    expect(await reader.command('a8', 'FETCH 4 (BODY[])')).toEqual(['* 4 FETCH (BODY[] {23}', 'Subject: Four', '', 'body', ')', 'a8 OK FETCH completed']);
    const flags = await owner.command('b3', 'STATUS Team (UNSEEN)');
    expect(flags).toEqual(['* STATUS "Team" (UNSEEN 3)', 'b3 OK STATUS completed']);
  });

  it('lets the owner set \\Seen whatever the ACL says, and BODY.PEEK never does', async () => {
    const owner = await login(OWNER);
    expect((await owner.command('c1', 'SELECT Team')).at(-1)).toBe('c1 OK [READ-WRITE] SELECT completed');
    expect(await owner.command('c2', 'FETCH 1 (BODY.PEEK[TEXT] FLAGS)')).toEqual(['* 1 FETCH (BODY[TEXT] {6}', 'body', ' FLAGS (\\Flagged))', 'c2 OK FETCH completed']);
    expect(await owner.command('c3', 'FETCH 1 (BODY[TEXT])')).toEqual(['* 1 FETCH (BODY[TEXT] {6}', 'body', ' FLAGS (\\Flagged \\Seen))', 'c3 OK FETCH completed']);
  });
});

/** Sends one command and consumes its response, hashing the one literal it announces (never holding it). */
async function fetchLiteral(port: number, login: string, command: string): Promise<{ announced: string; length: number; sha256: string; rest: string; tagged: string }> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  try {
    let text = '';
    let phase: 'login' | 'head' | 'literal' | 'tail' = 'login';
    let remaining = 0;
    let length = 0;
    let announced = '';
    const hash = createHash('sha256');
    let tail = '';
    return await new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`connection closed in phase ${phase}`)));
      socket.on('data', (chunk: Buffer) => {
        let data = chunk;
        while (data.length > 0) {
          if (phase === 'literal') {
            const take = Math.min(remaining, data.length);
            hash.update(data.subarray(0, take));
            remaining -= take;
            data = data.subarray(take);
            if (remaining === 0) phase = 'tail';
            continue;
          }
          if (phase === 'tail') {
            tail += data.toString('latin1');
            data = Buffer.alloc(0);
            const tagged = /\r\nf1 (OK|NO|BAD)[^\r]*\r\n$/.exec(tail);
            if (tagged) resolve({ announced, length, sha256: hash.digest('hex'), rest: tail.slice(0, tagged.index), tagged: tagged[0].trim() });
            continue;
          }
          text += data.toString('latin1');
          data = Buffer.alloc(0);
          if (phase === 'login' && /\r\nl1 OK[^\r]*\r\n/.test(text)) {
            phase = 'head';
            text = '';
            socket.write(`l2 SELECT INBOX\r\nf1 ${command}\r\n`);
            continue;
          }
          if (phase !== 'head') continue;
          const untaggedEnd = /^f1 (NO|BAD)[^\r]*\r\n$/m.exec(text);
          if (untaggedEnd) {
            resolve({ announced: '', length: 0, sha256: '', rest: '', tagged: untaggedEnd[0].trim() });
            return;
          }
          const literal = /~?\{(\d+)\}\r\n/.exec(text);
          if (literal) {
            // The line announcing the literal (SELECT's responses came before it).
            announced = text.slice(text.lastIndexOf('\r\n', literal.index) + 2, literal.index + literal[0].length - 2);
            length = remaining = Number(literal[1]);
            const after = Buffer.from(text.slice(literal.index + literal[0].length), 'latin1');
            text = '';
            phase = remaining === 0 ? 'tail' : 'literal';
            data = after;
          }
        }
      });
      socket.write(`l1 LOGIN ${login} "${PASSWORD}"\r\n`);
    });
  } finally {
    socket.destroy();
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function base64Lines(data: Buffer): string {
  return data.toString('base64').replace(/.{76}/g, '$&\r\n');
}

/**
 * RFC 3516 BINARY of parts larger than INLINE_BINARY_MAX: decoded as they stream, with a decoded
 * size pass (BINARY.SIZE and the literal length) that keeps nothing. Embedded profile only: the
 * streaming is in the IMAP layer, above the blob store, and a 20 MB blob on S3 would only slow the suite.
 */
describe('BINARY of large parts (streamed decoding)', () => {
  const USER = `big@${DOMAIN}`;
  let node: TestNode;
  let port: number;
  /** 15 MiB of random bytes: about 20 MB once base64-encoded. */
  const attachment = randomBytes(15 * 1024 * 1024);
  const qpText = Buffer.from(Array.from({ length: 6000 }, (_, i) => `Line ${i}: caf=C3=A9 price =3D 10=E2=82=AC and a soft =\r\nbreak here  \r\n`).join(''), 'latin1');
  const singleBody = randomBytes(400 * 1024);

  beforeAll(async () => {
    node = await startTestNode('embedded', { smtp: { submissionPort: 0, tlsPort: 0 } });
    port = node.app.ports.imap as number;
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${USER}`, { password: PASSWORD })).status).toBe(204);
    const { blobs, mailboxes } = node.app.backends;
    const inbox = await mailboxes.ensureMailbox(USER, 'INBOX');
    const big = Buffer.from(
      [
        'From: a@remote.example',
        `To: ${USER}`,
        'Subject: Big attachment',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="BB"',
        '',
        '--BB',
        'Content-Type: text/plain',
        '',
        'See attached.',
        '--BB',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        base64Lines(attachment),
        '--BB',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        qpText.toString('latin1'),
        '--BB',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: x-uuencode',
        '',
        'M'.repeat(INLINE_BINARY_MAX + 10),
        '--BB--',
        '',
      ].join('\r\n'),
      'latin1',
    );
    const single = Buffer.from(`From: a@remote.example\r\nSubject: Single\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(singleBody)}\r\n`);
    for (const bytes of [big, single]) {
      const stored = await blobs.put(MAIL_BUCKET, bytes);
      await mailboxes.appendMessage(inbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date(), flags: [] });
    }
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
  });

  it('gives BINARY.SIZE of each large part from a streamed pass', async () => {
    const { client } = await RawClient.connect(port);
    try {
      await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`);
      await client.command('l2', 'EXAMINE INBOX');
      const expectedQp = decodeTransferEncoding(qpText, 'quoted-printable').length;
      expect(await client.command('s1', 'FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[3])')).toEqual([`* 1 FETCH (BINARY.SIZE[2] ${attachment.length} BINARY.SIZE[3] ${expectedQp})`, 's1 OK FETCH completed']);
      const headerLength = Buffer.byteLength('From: a@remote.example\r\nSubject: Single\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n');
      expect(await client.command('s2', 'FETCH 2 (BINARY.SIZE[] BINARY.SIZE[1])')).toEqual([
        `* 2 FETCH (BINARY.SIZE[] ${headerLength + singleBody.length} BINARY.SIZE[1] ${singleBody.length})`,
        's2 OK FETCH completed',
      ]);
    } finally {
      client.close();
    }
  });

  it('streams a 20 MB base64 attachment decoded with BINARY[2], with bounded memory, and sets \\Seen after it', async () => {
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakBuffers = before.arrayBuffers;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
    }, 5);
    try {
      const result = await fetchLiteral(port, USER, 'FETCH 1 (BINARY[2])');
      expect(result.announced).toBe(`* 1 FETCH (BINARY[2] ~{${attachment.length}}`);
      expect(result.length).toBe(attachment.length);
      expect(result.sha256).toBe(sha256(attachment));
      expect(result.rest).toBe(' FLAGS (\\Seen))');
      expect(result.tagged).toBe('f1 OK FETCH completed');
    } finally {
      clearInterval(sampler);
    }
    // Server and client share this process: the growth bounds the server's holding of the part
    // (decoded 15 MiB, encoded 20 MB; decoding in memory held both, and more).
    const growth = { rss: peakRss - before.rss, buffers: peakBuffers - before.arrayBuffers };
    expect(growth.buffers).toBeLessThan(12 * 1024 * 1024);
    expect(growth.rss).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);

  it('answers a partial BINARY of a large part, at the start, inside, and past the end', async () => {
    const inside = await fetchLiteral(port, USER, 'FETCH 1 (BINARY.PEEK[2]<1000000.5000>)');
    expect(inside.announced).toBe('* 1 FETCH (BINARY[2]<1000000> ~{5000}');
    expect(inside.sha256).toBe(sha256(attachment.subarray(1_000_000, 1_005_000)));
    const end = await fetchLiteral(port, USER, `FETCH 1 (BINARY.PEEK[2]<${attachment.length - 100}.5000>)`);
    expect(end.announced).toBe(`* 1 FETCH (BINARY[2]<${attachment.length - 100}> ~{100}`);
    expect(end.sha256).toBe(sha256(attachment.subarray(attachment.length - 100)));
    const past = await fetchLiteral(port, USER, `FETCH 1 (BINARY.PEEK[2]<${attachment.length + 10}.5>)`);
    expect(past.announced).toBe(`* 1 FETCH (BINARY[2]<${attachment.length + 10}> ~{0}`);
    expect(past.length).toBe(0);
  }, 60_000);

  it('decodes a large quoted-printable part streamed exactly as in memory', async () => {
    const expected = decodeTransferEncoding(qpText, 'quoted-printable');
    const result = await fetchLiteral(port, USER, 'FETCH 1 (BINARY.PEEK[3])');
    expect(result.length).toBe(expected.length);
    expect(result.sha256).toBe(sha256(expected));
  }, 60_000);

  it('gives BINARY[] of a large single-part message as its header then the decoded body', async () => {
    const header = Buffer.from('From: a@remote.example\r\nSubject: Single\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n');
    const result = await fetchLiteral(port, USER, 'FETCH 2 (BINARY.PEEK[])');
    expect(result.length).toBe(header.length + singleBody.length);
    expect(result.sha256).toBe(sha256(Buffer.concat([header, singleBody])));
    const partial = await fetchLiteral(port, USER, `FETCH 2 (BINARY.PEEK[]<${header.length - 5}.10>)`);
    expect(partial.sha256).toBe(sha256(Buffer.concat([header, singleBody]).subarray(header.length - 5, header.length + 5)));
  }, 60_000);

  it('refuses a large part of an unknown Content-Transfer-Encoding with NO [UNKNOWN-CTE], and the session goes on', async () => {
    const { client } = await RawClient.connect(port);
    try {
      await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`);
      await client.command('l2', 'EXAMINE INBOX');
      expect(await client.command('u1', 'FETCH 1 (BINARY.PEEK[4])')).toEqual(['u1 NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding x-uuencode']);
      expect(await client.command('u2', 'FETCH 1 (BINARY.SIZE[4])')).toEqual(['u2 NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding x-uuencode']);
      expect(await client.command('u3', 'FETCH 1 (BINARY.SIZE[1])')).toEqual(['* 1 FETCH (BINARY.SIZE[1] 13)', 'u3 OK FETCH completed']);
    } finally {
      client.close();
    }
  });
});
