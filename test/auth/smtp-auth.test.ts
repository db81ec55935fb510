import tls from 'node:tls';
import nodemailer from 'nodemailer';
import { adminPut, type TestNode, mailWorkflow } from '../helpers/postflow';
import { selfSignedCertificate, startTlsAuthNode } from './tls-fixture';

const DOMAIN = 'auth.test';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const PASSWORD = 'alice password';
const RAW = 'From: alice@auth.test\r\nTo: bob@auth.test\r\nSubject: submitted\r\n\r\nHello Bob.\r\n';

type TransportOptions = Parameters<typeof nodemailer.createTransport>[0] & Record<string, unknown>;

describe('SMTP AUTH, STARTTLS and the submission port', () => {
  let node: TestNode;
  let cert: ReturnType<typeof selfSignedCertificate>;

  beforeAll(async () => {
    cert = selfSignedCertificate();
    node = await startTlsAuthNode(cert, DOMAIN, [ALICE, BOB, `carol@${DOMAIN}`], PASSWORD);
    expect((await adminPut(node.webadmin, `/address/aliases/${ALICE}/sources/a.smith@${DOMAIN}`)).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    cert?.cleanup();
  });

  async function submit(options: TransportOptions, envelope = { from: ALICE, to: [BOB] }): Promise<string> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', tls: { rejectUnauthorized: false }, ...options } as TransportOptions);
    try {
      const info = await transport.sendMail({ envelope, raw: RAW });
      return info.response as string;
    } finally {
      transport.close();
    }
  }

  const submission = (): number => node.app.ports.submission as number;

  it('requires AUTH on the submission port', async () => {
    await expect(submit({ port: submission(), requireTLS: true })).rejects.toMatchObject({ responseCode: 530 });
  });

  it('refuses plain-text AUTH before STARTTLS when the configuration requires TLS (538)', async () => {
    await expect(submit({ port: submission(), ignoreTLS: true, auth: { user: ALICE, pass: PASSWORD } })).rejects.toMatchObject({ responseCode: 538 });
  });

  it('accepts AUTH PLAIN after STARTTLS and delivers the submitted mail', async () => {
    const response = await submit({ port: submission(), requireTLS: true, auth: { user: ALICE, pass: PASSWORD } });
    const mailId = /queued as ([0-9a-f-]{36})/.exec(response)?.[1] as string;
    await (await mailWorkflow(node.app.client, mailId)).result();
    const inbox = await node.app.backends.mailboxes.getMailbox(BOB, 'INBOX');
    expect(inbox).not.toBeNull();
  });

  it('accepts AUTH LOGIN, and the implicit-TLS port', async () => {
    await expect(submit({ port: submission(), requireTLS: true, authMethod: 'LOGIN', auth: { user: ALICE, pass: PASSWORD } })).resolves.toMatch(/^250/);
    await expect(submit({ port: node.app.ports.smtps as number, secure: true, auth: { user: ALICE, pass: PASSWORD } })).resolves.toMatch(/^250/);
  });

  it('lets a user send from an alias but not from another user\'s address (553)', async () => {
    await expect(submit({ port: submission(), requireTLS: true, auth: { user: ALICE, pass: PASSWORD } }, { from: `a.smith@${DOMAIN}`, to: [BOB] })).resolves.toMatch(/^250/);
    await expect(submit({ port: submission(), requireTLS: true, auth: { user: ALICE, pass: PASSWORD } }, { from: BOB, to: [ALICE] })).rejects.toMatchObject({ responseCode: 553 });
  });

  it('lets a delegated user send as the account that authorized them', async () => {
    expect((await fetch(`${node.webadmin}/users/${BOB}/authorizedUsers/${ALICE}`, { method: 'PUT' })).status).toBe(200);
    await expect(submit({ port: submission(), requireTLS: true, auth: { user: ALICE, pass: PASSWORD } }, { from: BOB, to: [ALICE] })).resolves.toMatch(/^250/);
    expect((await fetch(`${node.webadmin}/users/${BOB}/authorizedUsers/${ALICE}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('answers 535 alike to a wrong password and an unknown user, then throttles the account', async () => {
    const carol = `carol@${DOMAIN}`;
    await expect(submit({ port: submission(), requireTLS: true, auth: { user: 'nobody@auth.test', pass: 'x' } })).rejects.toMatchObject({ responseCode: 535, response: expect.stringContaining('5.7.8 Authentication credentials invalid') });
    for (let i = 0; i < 3; i++) {
      await expect(submit({ port: submission(), requireTLS: true, auth: { user: carol, pass: `guess ${i}` } })).rejects.toMatchObject({ responseCode: 535, response: expect.stringContaining('5.7.8 Authentication credentials invalid') });
    }
    // Throttled: even the right password is refused now, with the same answer.
    await expect(submit({ port: submission(), requireTLS: true, auth: { user: carol, pass: PASSWORD } })).rejects.toMatchObject({ responseCode: 535 });
  });

  it('closes the connection with 421 after three failed AUTH attempts on it', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: node.app.ports.smtps as number, rejectUnauthorized: false });
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => (received += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const count = (code: string): number => (received.match(new RegExp(`^${code} `, 'gm')) ?? []).length;
    const waitFor = async (code: string, times = 1) => {
      const deadline = Date.now() + 5_000;
      while (count(code) < times && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(count(code)).toBeGreaterThanOrEqual(times);
    };
    await waitFor('220');
    socket.write('EHLO client.example\r\n');
    await waitFor('250');
    for (let i = 1; i <= 2; i++) {
      socket.write(`AUTH PLAIN ${Buffer.from(`\0dave${i}@auth.test\0wrong`).toString('base64')}\r\n`);
      await waitFor('535', i);
    }
    socket.write(`AUTH PLAIN ${Buffer.from('\0dave3@auth.test\0wrong').toString('base64')}\r\n`);
    await waitFor('421');
    await closed;
  });

  it('offers STARTTLS and AUTH on the MX port too, where AUTH stays optional', async () => {
    await expect(submit({ port: node.app.ports.smtp as number, requireTLS: true }, { from: 'someone@remote.example', to: [BOB] })).resolves.toMatch(/^250/);
  });
});
