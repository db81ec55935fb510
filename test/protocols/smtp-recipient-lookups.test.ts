import { connect, type Socket } from 'node:net';
import pino from 'pino';
import type { BlobStore } from '../../src/blob/api';
import { SmtpServer } from '../../src/protocols/smtp/smtp-server';
import type { MailQueue } from '../../src/queue/mail-queue';
import { identityFixture } from '../rrt/rrt-fixture';

/** A line-oriented SMTP client over a real socket: sends one command, returns the whole reply. */
class Conversation {
  private buffer = '';
  private waiting: ((reply: string) => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.deliver();
    });
  }

  static async open(port: number): Promise<Conversation> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const conversation = new Conversation(socket);
    await conversation.reply();
    return conversation;
  }

  /** The next complete reply (the last line has a space after its code). */
  private deliver(): void {
    const end = /(^|\r\n)\d{3} [^\r\n]*\r\n/.exec(this.buffer);
    if (!end || !this.waiting) return;
    const upTo = end.index + end[0].length;
    const reply = this.buffer.slice(0, upTo);
    this.buffer = this.buffer.slice(upTo);
    const waiting = this.waiting;
    this.waiting = null;
    waiting(reply.trim());
  }

  reply(): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }

  send(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('SMTP RCPT TO look-ups', () => {
  let fixture: Awaited<ReturnType<typeof identityFixture>>;
  let server: SmtpServer;
  let port: number;
  let domainLookups: string[];
  let failNextLookup = false;

  beforeAll(async () => {
    fixture = await identityFixture();
    const { identity } = fixture;
    await identity.domains.add('local.test');
    await identity.domains.add('other.test');
    for (const user of ['a', 'b', 'c']) await identity.users.create(`${user}@local.test`, 'secret-password');
    await identity.users.create('a@other.test', 'secret-password');
    domainLookups = [];
    server = new SmtpServer(
      {
        isLocalDomain: async (domain) => {
          domainLookups.push(domain);
          if (failNextLookup) {
            failNextLookup = false;
            throw new Error('domain list unavailable');
          }
          return identity.domains.contains(domain);
        },
        userExists: (address) => identity.userExists(address),
        rrt: identity.rrt,
        // RCPT TO never reaches these: the tests below end every transaction before DATA.
        blobs: {} as BlobStore,
        queue: {} as MailQueue,
        auth: identity.auth,
        senders: identity.senders,
        logger: pino({ level: 'silent' }),
      },
      { host: '127.0.0.1', port: 0, hostname: 'mx.local.test', maxMessageSize: 1_000_000, mode: 'mx', tls: null },
    );
    port = await server.listen();
  });

  afterAll(async () => {
    await server.close();
    await fixture.cleanup();
  });

  beforeEach(() => {
    domainLookups = [];
    failNextLookup = false;
  });

  it('asks the domain list once per domain and transaction, and still judges each recipient', async () => {
    const smtp = await Conversation.open(port);
    try {
      expect(await smtp.send('EHLO client.example')).toMatch(/^250/);
      expect(await smtp.send('MAIL FROM:<sender@remote.example>')).toMatch(/^250/);
      expect(await smtp.send('RCPT TO:<a@local.test>')).toMatch(/^250/);
      expect(await smtp.send('RCPT TO:<b@LOCAL.test>')).toMatch(/^250/);
      expect(await smtp.send('RCPT TO:<nobody@local.test>')).toMatch(/^550 5\.1\.1 .*User unknown/);
      expect(await smtp.send('RCPT TO:<c@local.test>')).toMatch(/^250/);
      expect(await smtp.send('RCPT TO:<a@other.test>')).toMatch(/^250/);
      expect(await smtp.send('RCPT TO:<nobody@other.test>')).toMatch(/^550 5\.1\.1/);
      expect(domainLookups.map((d) => d.toLowerCase()).sort()).toEqual(['local.test', 'other.test']);
    } finally {
      smtp.close();
    }
  });

  it('asks again in the next transaction, so a domain removed meanwhile is no longer local', async () => {
    const smtp = await Conversation.open(port);
    try {
      await smtp.send('EHLO client.example');
      await smtp.send('MAIL FROM:<sender@remote.example>');
      expect(await smtp.send('RCPT TO:<nobody@other.test>')).toMatch(/^550/);
      expect(await smtp.send('RSET')).toMatch(/^250/);
      await fixture.identity.users.remove('a@other.test');
      await fixture.identity.domains.remove('other.test');
      await smtp.send('MAIL FROM:<sender@remote.example>');
      // Not a local domain any more: accepted here, the processor graph judges relaying.
      expect(await smtp.send('RCPT TO:<nobody@other.test>')).toMatch(/^250/);
      expect(domainLookups.map((d) => d.toLowerCase())).toEqual(['other.test', 'other.test']);
    } finally {
      smtp.close();
      await fixture.identity.domains.add('other.test');
      await fixture.identity.users.create('a@other.test', 'secret-password');
    }
  });

  it('answers 451 when the domain list fails, and asks again for the next recipient', async () => {
    const smtp = await Conversation.open(port);
    try {
      await smtp.send('EHLO client.example');
      await smtp.send('MAIL FROM:<sender@remote.example>');
      failNextLookup = true;
      expect(await smtp.send('RCPT TO:<a@local.test>')).toMatch(/^451 4\.4\.3/);
      expect(await smtp.send('RCPT TO:<a@local.test>')).toMatch(/^250/);
      expect(await smtp.send('RCPT TO:<b@local.test>')).toMatch(/^250/);
      expect(domainLookups).toEqual(['local.test', 'local.test']);
    } finally {
      smtp.close();
    }
  });
});
