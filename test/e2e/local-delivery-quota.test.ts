import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import { MAILETS } from '../../src/mailet/catalogue/mailets';
import { FAILED_RECIPIENTS_ATTRIBUTE } from '../../src/mailet/graph/walker';
import { createMailetHarness } from '../../src/mailet/testing';
import { ERROR_REPOSITORY_PATH } from '../../src/mailet/graph/default-graph';
import { adminPut, sendMail, startTestNode, type TestNode } from '../helpers/postflow';

const PASSWORD = 'quota secret';

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

function raw(from: string, to: string[], subject: string): string {
  return [`From: ${from}`, `To: ${to.join(', ')}`, `Subject: ${subject}`, `Message-ID: <${Math.random().toString(36).slice(2)}@remote.example>`, 'Date: Mon, 30 Nov 2026 10:00:00 +0000', '', 'hello', ''].join('\r\n');
}

/**
 * LocalDelivery per recipient (James' MailDispatcher): one recipient over quota is split off to the
 * error processor (bounce + error repository) with only that recipient; the others get the mail.
 */
describe('LocalDelivery with one recipient over quota (embedded profile)', () => {
  let node: TestNode;
  const domain = 'ldquota-embedded.example';
  const sender = `sender@${domain}`;
  const full = `full@${domain}`;
  const roomy = `roomy@${domain}`;
  const alsoFull = `alsofull@${domain}`;

  beforeAll(async () => {
    node = await startTestNode('embedded', { smtp: { submissionPort: 0, tlsPort: 0 } });
    expect((await adminPut(node.webadmin, `/domains/${domain}`)).status).toBe(204);
    for (const user of [sender, full, roomy, alsoFull]) expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    for (const user of [full, alsoFull]) {
      const r = await fetch(`${node.webadmin}/quota/users/${user}/count`, { method: 'PUT', body: '0', headers: { 'content-type': 'text/plain' } });
      expect(r.status).toBe(204);
    }
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
  }, 60_000);

  const inboxMessages = async (user: string, body: 'headers' | 'full' = 'headers') => {
    const { mailboxes } = node.app.backends;
    const inbox = await mailboxes.ensureMailbox(user, 'INBOX');
    const out = [];
    for await (const m of mailboxes.getMessages(user, inbox.id, [ALL_UIDS], body)) out.push(m);
    return out;
  };
  const contentOf = async (message: { openContent?: () => Promise<AsyncIterable<unknown>> }) => {
    const chunks: Buffer[] = [];
    for await (const c of await message.openContent!()) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  /** The addresses the bounce's text part lists (the attached original names every recipient in its To:). */
  const bouncedAddresses = (bounce: string) => {
    const text = bounce.slice(bounce.indexOf("I'm afraid"), bounce.indexOf('Content-Type: message/rfc822'));
    return [...text.matchAll(/^<([^>]+)>\s*$/gm)].map((m) => m[1]).sort();
  };
  const errorsMentioning = async (user: string) => {
    const { mailRepositories } = node.app.backends;
    const found = [];
    for (const key of await mailRepositories.listKeys(ERROR_REPOSITORY_PATH)) {
      const stored = await mailRepositories.get(ERROR_REPOSITORY_PATH, key);
      if (stored && stored.mail.recipients.includes(user)) found.push(stored.mail);
    }
    return found;
  };

  it('delivers to the recipient within quota and bounces only the over-quota one', async () => {
    await sendMail(node.app.ports.smtp as number, { from: sender, to: [full, roomy] }, raw(sender, [full, roomy], 'to both'));

    const delivered = await eventually(() => inboxMessages(roomy), (l) => l.length > 0, 'the mail in the roomy INBOX');
    expect(delivered.map((m) => m.parsed?.envelope.subject)).toEqual(['to both']);

    const errors = await eventually(() => errorsMentioning(full), (l) => l.length > 0, 'the mail in the error repository');
    expect(errors).toHaveLength(1);
    expect(errors[0].recipients).toEqual([full]);
    expect(errors[0].errorMessage).toMatch(/Quota exceeded/);
    expect(errors[0].errorMessage).not.toContain(roomy);
    expect(await errorsMentioning(roomy)).toEqual([]);

    const bounces = await eventually(() => inboxMessages(sender, 'full'), (l) => l.length > 0, 'the bounce in the sender INBOX');
    expect(bounces).toHaveLength(1);
    const dsn = await contentOf(bounces[0] as never);
    expect(bouncedAddresses(dsn)).toEqual([full]);
    expect(dsn).toMatch(/Error: .*Quota exceeded/);

    expect(await inboxMessages(full)).toEqual([]);
    // Nothing more arrives later: the delivered recipient got one copy and the sender one bounce.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await inboxMessages(roomy)).toHaveLength(1);
    expect(await inboxMessages(sender)).toHaveLength(1);
  }, 90_000);

  it('does not re-append nor fail, on a retry, a recipient whose first delivery filled the quota', async () => {
    const edge = `edge@${domain}`;
    expect((await adminPut(node.webadmin, `/users/${edge}`, { password: PASSWORD })).status).toBe(204);
    const limit = await fetch(`${node.webadmin}/quota/users/${edge}/count`, { method: 'PUT', body: '1', headers: { 'content-type': 'text/plain' } });
    expect(limit.status).toBe(204);
    const { mailboxes, blobs, quotas } = node.app.backends;
    const h = await createMailetHarness({ mailboxes, localDomains: [domain] });
    try {
      const localDelivery = MAILETS.find((m) => m.name === 'LocalDelivery')!;
      const text = raw(sender, [edge], 'fills the quota');
      const mail = await h.mail(text, { sender, recipients: [edge], mailId: 'retry-mail', name: 'retry-mail' });
      // The node parses the appended blob from its own store: the same bytes give the same id there.
      expect((await blobs.put(MAIL_BUCKET, Buffer.from(text))).blobId).toBe(mail.messageBlobId);
      const first = await h.runMailet(localDelivery, mail);
      expect(first.attributes[FAILED_RECIPIENTS_ATTRIBUTE]).toBeUndefined();
      await eventually(() => quotas!.getUsage(edge), (u) => u.count === 1, 'edge at its quota');
      // A retried step (same mail, same delivery key): the quota is full, yet the recipient has the mail.
      const retried = await h.runMailet(localDelivery, mail);
      expect(retried.attributes[FAILED_RECIPIENTS_ATTRIBUTE]).toBeUndefined();
      expect(retried.state).toBe('ghost');
      expect((await inboxMessages(edge)).map((m) => m.parsed?.envelope.subject)).toEqual(['fills the quota']);
      // Another mail to the full recipient (received later) is reported failed, not silently dropped.
      const receivedAt = new Date(Date.parse(mail.receivedAt) + 1000).toISOString();
      const other = await h.runMailet(localDelivery, { ...mail, mailId: 'other-mail', name: 'other-mail', receivedAt });
      expect(other.attributes[FAILED_RECIPIENTS_ATTRIBUTE]).toEqual({ recipients: [edge], error: expect.stringMatching(/Quota exceeded/) });
      expect(await inboxMessages(edge)).toHaveLength(1);
    } finally {
      h.cleanup();
    }
  }, 60_000);

  it('bounces every recipient in one mail when all of them are over quota', async () => {
    const before = (await inboxMessages(sender)).length;
    await sendMail(node.app.ports.smtp as number, { from: sender, to: [full, alsoFull] }, raw(sender, [full, alsoFull], 'to the full ones'));
    const errors = await eventually(() => errorsMentioning(alsoFull), (l) => l.length > 0, 'the mail in the error repository');
    expect(errors).toHaveLength(1);
    expect([...errors[0].recipients].sort()).toEqual([alsoFull, full].sort());
    const bounces = await eventually(() => inboxMessages(sender, 'full'), (l) => l.length > before, 'the second bounce');
    expect(bounces).toHaveLength(before + 1);
    const dsn = await contentOf(bounces[bounces.length - 1] as never);
    expect(bouncedAddresses(dsn)).toEqual([alsoFull, full].sort());
    expect(await inboxMessages(alsoFull)).toEqual([]);
  }, 90_000);
});
