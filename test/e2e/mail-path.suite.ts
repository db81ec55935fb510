import { readMessageBytes } from '../../src/mailbox/message-content';
import { RELAY_DENIED_REPOSITORY } from '../../src/mailrepository/api/mail-repository-store';
import type { TraceEntry } from '../../src/mailet/graph/walker';
import { adminPut, imapClient, mailPath, sendMail, startTestNode, type TestNode } from '../helpers/postflow';

const DOMAIN = 'example.test';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const PASSWORD = 'correct horse battery staple';
/** Small limit so the over-size case stays fast. */
const MAX_MESSAGE_SIZE = 200_000;

function message(subject: string, body = 'Hello from the walking skeleton.\r\n'): string {
  return [
    'From: Sender <sender@remote.example>',
    `To: ${ALICE}`,
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@remote.example>`,
    'Date: Mon, 30 Nov 2026 12:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
  ].join('\r\n');
}

/** The end-to-end mail path, run unchanged on each profile. */
export function describeMailPath(profile: 'embedded' | 'distributed'): void {
  describe(`mail path on the ${profile} profile`, () => {
    let node: TestNode;

    beforeAll(async () => {
      node = await startTestNode(profile, { smtp: { maxMessageSize: MAX_MESSAGE_SIZE } });
      expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
      expect((await adminPut(node.webadmin, `/users/${ALICE}`, { password: PASSWORD })).status).toBe(204);
      expect((await adminPut(node.webadmin, `/users/${BOB}`, { password: PASSWORD })).status).toBe(204);
    }, 120_000);

    afterAll(async () => {
      await node?.stop();
    });

    async function waitForWorkflow(mailId: string): Promise<{ trace: TraceEntry[] }> {
      return mailPath(node, mailId);
    }

    it('delivers a mail byte-identical to the local recipient (after James\' Delivered-To), readable over IMAP', async () => {
      const raw = message('byte identical', 'Line one\r\n.dot-stuffed line\r\n\r\nÜnïcödé body\r\n');
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [ALICE] }, raw);
      const result = await waitForWorkflow(mailId);
      expect(result.trace).toContainEqual(expect.objectContaining({ event: 'mailet', mailet: 'LocalDelivery', state: 'ghost' }));

      const client = imapClient(node.app.ports.imap as number, ALICE, PASSWORD);
      await client.connect();
      try {
        const lock = await client.getMailboxLock('INBOX');
        try {
          const fetched = await client.fetchOne('*', { source: true, uid: true, size: true }, { uid: false });
          expect(fetched).toBeTruthy();
          if (!fetched) return;
          expect(fetched.source?.toString('utf8')).toBe(`Delivered-To: ${ALICE}\r\n${raw}`);
          expect(fetched.size).toBe(Buffer.byteLength(`Delivered-To: ${ALICE}\r\n${raw}`));
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }
    });

    it('delivers one copy to each local recipient of a multi-recipient mail', async () => {
      const raw = message('two recipients');
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [ALICE, BOB] }, raw);
      await waitForWorkflow(mailId);
      for (const user of [ALICE, BOB]) {
        const inbox = await node.app.backends.mailboxes.getMailbox(user, 'INBOX');
        expect(inbox).not.toBeNull();
        const found: string[] = [];
        for await (const m of node.app.backends.mailboxes.listMessages(inbox!.id, { from: 1, to: Number.MAX_SAFE_INTEGER })) {
          // The content is the copy's header prefix (its Delivered-To) then the blob its recipients share.
          found.push((await readMessageBytes(node.app.backends.blobs, m)).toString());
        }
        expect(found.filter((b) => b === `Delivered-To: ${user}\r\n${raw}`)).toHaveLength(1);
      }
    });

    it('refuses RCPT to an unknown user of a local domain with 550', async () => {
      await expect(sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [`nobody@${DOMAIN}`] }, message('unknown'))).rejects.toMatchObject({
        responseCode: 550,
      });
    });

    it('refuses a message over the size limit with 552 and keeps the session usable', async () => {
      const big = message('too big', 'x'.repeat(MAX_MESSAGE_SIZE + 10) + '\r\n');
      await expect(sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [ALICE] }, big)).rejects.toMatchObject({ responseCode: 552 });
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [ALICE] }, message('after too big'));
      await waitForWorkflow(mailId);
    });

    it('puts an unauthenticated relay attempt in the relay-denied repository, in nobody\'s mailbox', async () => {
      const raw = message('relay attempt');
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'spammer@remote.example', to: ['victim@elsewhere.example'] }, raw);
      const result = await waitForWorkflow(mailId);
      expect(result.trace).toContainEqual(expect.objectContaining({ event: 'mailet', processor: 'relay-denied', mailet: 'ToRepository' }));
      const keys = (await (await fetch(`${node.webadmin}/mailRepositories/${encodeURIComponent(RELAY_DENIED_REPOSITORY)}/mails`)).json()) as string[];
      expect(keys).toContain(`${mailId}/${mailId}`);
      expect(await node.app.backends.mailboxes.getMailbox('victim@elsewhere.example', 'INBOX')).toBeNull();
    });

    it('splits a mail between a local user and a relay-denied remote recipient', async () => {
      const raw = message('split me');
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [BOB, 'someone@elsewhere.example'] }, raw);
      const result = await waitForWorkflow(mailId);
      expect(result.trace).toContainEqual(expect.objectContaining({ event: 'split' }));
      const keys = await node.app.backends.mailRepositories.listKeys(RELAY_DENIED_REPOSITORY);
      const stored = await Promise.all(keys.filter((k) => k.startsWith(mailId)).map((k) => node.app.backends.mailRepositories.get(RELAY_DENIED_REPOSITORY, k)));
      expect(stored.map((s) => s?.mail.recipients)).toEqual([['someone@elsewhere.example']]);
    });

    it('answers NO to a wrong IMAP password', async () => {
      const client = imapClient(node.app.ports.imap as number, ALICE, 'wrong password');
      await expect(client.connect()).rejects.toMatchObject({ authenticationFailed: true });
    });

    it('reports every engine healthy on /healthcheck', async () => {
      const response = await fetch(`${node.webadmin}/healthcheck`);
      const body = (await response.json()) as { status: string; checks: Array<{ componentName: string; status: string }> };
      expect(response.status).toBe(200);
      expect(body.status).toBe('healthy');
      const names = body.checks.map((c) => c.componentName);
      expect(names).toContain('Temporal');
      expect(names).toEqual(expect.arrayContaining(profile === 'embedded' ? ['SQLite'] : ['Cassandra', 'S3', 'RabbitMQ']));
    });

    it('stores the user password hashed, never in clear', async () => {
      const stored = await node.app.backends.users.getUser(ALICE);
      expect(stored?.passwordHash).toMatch(/^\$argon2id\$/);
      expect(stored?.passwordHash).not.toContain(PASSWORD);
    });
  });
}
