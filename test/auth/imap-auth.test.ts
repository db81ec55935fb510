import net from 'node:net';
import tls from 'node:tls';
import { ImapFlow } from 'imapflow';
import { sendMail, type TestNode, mailWorkflow } from '../helpers/postflow';
import { selfSignedCertificate, startTlsAuthNode } from './tls-fixture';

const DOMAIN = 'imap-auth.test';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const PASSWORD = 'imap password';

/** A line-oriented IMAP peer over a raw socket (plain, then upgraded with STARTTLS). */
class RawImap {
  private buffer = '';
  private waiters: Array<() => void> = [];

  private constructor(private socket: net.Socket | tls.TLSSocket) {
    this.listen(socket);
  }

  static async connect(port: number): Promise<RawImap> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawImap(socket);
    await client.until((text) => text.includes('\r\n'));
    return client;
  }

  private listen(socket: net.Socket | tls.TLSSocket): void {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Sends raw text and waits for the tagged response of `tag`; returns everything received. */
  async send(text: string, tag: string): Promise<string> {
    this.buffer = '';
    this.socket.write(text);
    return this.until((buffer) => new RegExp(`^${tag} (OK|NO|BAD)`, 'm').test(buffer));
  }

  async until(done: (buffer: string) => boolean, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.buffer)) {
      if (Date.now() > deadline) throw new Error(`no expected response; got ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.buffer;
  }

  /** TLS handshake on the same connection (after a tagged OK to STARTTLS). */
  async upgrade(): Promise<void> {
    const plain = this.socket as net.Socket;
    plain.removeAllListeners('data');
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    this.socket = secure;
    this.buffer = '';
    this.listen(secure);
  }

  get received(): string {
    return this.buffer;
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('IMAP authentication and TLS', () => {
  let node: TestNode;
  let cert: ReturnType<typeof selfSignedCertificate>;

  beforeAll(async () => {
    cert = selfSignedCertificate();
    node = await startTlsAuthNode(cert, DOMAIN, [ALICE, BOB, `carol@${DOMAIN}`], PASSWORD);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    cert?.cleanup();
  });

  const imapPort = (): number => node.app.ports.imap as number;

  function client(options: Partial<ConstructorParameters<typeof ImapFlow>[0]> & { auth: { user: string; pass: string; authzid?: string } }): ImapFlow {
    return new ImapFlow({ host: '127.0.0.1', port: imapPort(), secure: false, tls: { rejectUnauthorized: false }, logger: false, disableAutoIdle: true, ...options } as ConstructorParameters<typeof ImapFlow>[0]);
  }

  it('advertises STARTTLS and LOGINDISABLED in clear, and refuses LOGIN with PRIVACYREQUIRED', async () => {
    const raw = await RawImap.connect(imapPort());
    try {
      const capability = await raw.send('a1 CAPABILITY\r\n', 'a1');
      expect(capability).toMatch(/^\* CAPABILITY .*STARTTLS/m);
      expect(capability).toMatch(/LOGINDISABLED/);
      expect(capability).not.toMatch(/AUTH=PLAIN/);
      expect(await raw.send(`a2 LOGIN ${ALICE} "${PASSWORD}"\r\n`, 'a2')).toMatch(/^a2 NO \[PRIVACYREQUIRED\]/m);
      expect(await raw.send(`a3 AUTHENTICATE PLAIN ${Buffer.from(`\0${ALICE}\0${PASSWORD}`).toString('base64')}\r\n`, 'a3')).toMatch(/^a3 NO \[PRIVACYREQUIRED\]/m);
    } finally {
      raw.close();
    }
  });

  it('logs in after STARTTLS, and discards a command pipelined in clear behind STARTTLS', async () => {
    const raw = await RawImap.connect(imapPort());
    try {
      // "b1" rides in the same packet as STARTTLS: it must never run (CVE-2011-0411).
      const answer = await raw.send('s1 STARTTLS\r\nb1 LOGOUT\r\n', 's1');
      expect(answer).toMatch(/^s1 OK/m);
      await raw.upgrade();
      const capability = await raw.send('a1 CAPABILITY\r\n', 'a1');
      expect(capability).not.toMatch(/STARTTLS|LOGINDISABLED/);
      expect(capability).toMatch(/AUTH=PLAIN/);
      expect(raw.received).not.toMatch(/^b1 /m);
      expect(await raw.send(`a2 LOGIN ${ALICE} "${PASSWORD}"\r\n`, 'a2')).toMatch(/^a2 OK/m);
      expect(await raw.send('a3 STARTTLS\r\n', 'a3')).toMatch(/^a3 BAD/m);
    } finally {
      raw.close();
    }
  });

  it('logs a real client in with STARTTLS, and on the implicit-TLS port', async () => {
    const viaStarttls = client({ doSTARTTLS: true, auth: { user: ALICE, pass: PASSWORD } });
    await viaStarttls.connect();
    expect(viaStarttls.authenticated).toBeTruthy();
    await viaStarttls.logout();
    const viaImaps = client({ port: node.app.ports.imaps as number, secure: true, auth: { user: ALICE, pass: PASSWORD } });
    await viaImaps.connect();
    expect(viaImaps.authenticated).toBeTruthy();
    await viaImaps.logout();
  });

  it('lets a delegated user log in as the account that authorized them (AUTHENTICATE PLAIN with an authorization identity)', async () => {
    const refused = client({ port: node.app.ports.imaps as number, secure: true, auth: { user: ALICE, pass: PASSWORD, authzid: BOB } });
    await expect(refused.connect()).rejects.toBeTruthy();
    expect((await fetch(`${node.webadmin}/users/${BOB}/authorizedUsers/${ALICE}`, { method: 'PUT' })).status).toBe(200);
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'someone@remote.example', to: [BOB] }, 'Subject: for Bob only\r\n\r\nHi Bob.\r\n');
    await (await mailWorkflow(node.app.client, mailId)).result();
    const delegated = client({ port: node.app.ports.imaps as number, secure: true, auth: { user: ALICE, pass: PASSWORD, authzid: BOB } });
    await delegated.connect();
    try {
      // The session is Bob's: his INBOX, with his message.
      const lock = await delegated.getMailboxLock('INBOX');
      try {
        const message = await delegated.fetchOne('*', { source: true }, { uid: false });
        expect(message && message.source?.toString()).toContain('for Bob only');
      } finally {
        lock.release();
      }
    } finally {
      await delegated.logout();
    }
  });

  it('answers the same to unknown users and wrong passwords, then throttles the account', async () => {
    const carol = `carol@${DOMAIN}`;
    const failures: string[] = [];
    for (const [user, pass] of [['nobody@imap-auth.test', 'x'], [carol, 'guess 1'], [carol, 'guess 2'], [carol, 'guess 3']]) {
      const raw = await RawImap.connect(imapPort());
      await raw.send('s STARTTLS\r\n', 's');
      await raw.upgrade();
      failures.push((await raw.send(`l LOGIN ${user} "${pass}"\r\n`, 'l')).trim());
      raw.close();
    }
    expect(new Set(failures)).toEqual(new Set(['l NO [AUTHENTICATIONFAILED] Invalid credentials']));
    const throttled = client({ doSTARTTLS: true, auth: { user: carol, pass: PASSWORD } });
    await expect(throttled.connect()).rejects.toMatchObject({ authenticationFailed: true });
  });
});
