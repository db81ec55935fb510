import { MAIL_BUCKET, type BlobStore } from '../../src/blob/api/blob-store';
import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import { MAILETS } from '../../src/mailet/catalogue/mailets';
import { PER_RECIPIENT_HEADERS_ATTRIBUTE } from '../../src/mailet/catalogue/core-mailets';
import { FAILED_RECIPIENTS_ATTRIBUTE } from '../../src/mailet/graph/walker';
import { createMailetHarness } from '../../src/mailet/testing';
import { S3BlobStore } from '../../src/blob/s3/s3-blob-store';
import { deleteBuckets, newRunId } from '../helpers/engines';
import { adminPut, imapClient, sendMail, startTestNode, type TestNode } from '../helpers/postflow';

const PASSWORD = 'shared body secret';

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

async function mailBlobIds(blobs: BlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of blobs.list(MAIL_BUCKET)) ids.push(...page.map((b) => b.blobId));
  return ids;
}

function multipart(from: string, to: string[], subject: string): string {
  return [
    `From: ${from}`,
    `To: ${to.join(', ')}`,
    `Subject: ${subject}`,
    `Message-ID: <${Math.random().toString(36).slice(2)}@remote.example>`,
    'Date: Mon, 30 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="sep"',
    '',
    '--sep',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `Four kilobytes of shared body ${'lorem ipsum '.repeat(300)}`,
    '--sep',
    'Content-Type: application/octet-stream; name="data.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAwQFBgcICQ==',
    '--sep--',
    '',
  ].join('\r\n');
}

/**
 * One body blob shared by the recipients of a mail: AddDeliveredToHeader's per-recipient
 * `Delivered-To` is a header prefix of each copy, LocalDelivery stores no copy of the message,
 * and every reader (IMAP FETCH/SEARCH, COPY/MOVE) sees prefix + blob.
 */
describe.each(['embedded', 'distributed'] as const)('shared body of a mail to 10 local recipients (%s profile)', (profile) => {
  let node: TestNode;
  const domain = `shared-${profile}.example`;
  const sender = `sender@remote-${profile}.example`;
  const recipients = Array.from({ length: 10 }, (_, i) => `rcpt${i}@${domain}`);

  // Own buckets: a shared bucket would count other runs' blobs.
  const bucketPrefix = `pfshared-${newRunId()}-`;

  beforeAll(async () => {
    node = await startTestNode(profile, profile === 'distributed' ? { s3: { bucketPrefix } } : {});
    expect((await adminPut(node.webadmin, `/domains/${domain}`)).status).toBe(204);
    for (const user of recipients) expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
  }, 180_000);

  afterAll(async () => {
    if (profile === 'distributed' && node) {
      const s3 = S3BlobStore.fromConfig(node.config.s3);
      await deleteBuckets(s3.client, bucketPrefix).catch(() => undefined);
      s3.close();
    }
    await node?.stop();
  }, 60_000);

  const inbox = async (user: string) => {
    const { mailboxes } = node.app.backends;
    const box = await mailboxes.ensureMailbox(user, 'INBOX');
    const out = [];
    for await (const m of mailboxes.getMessages(user, box.id, [ALL_UIDS], 'headers')) out.push(m);
    return out;
  };

  it('stores one message blob for all 10 recipients, each reading its own Delivered-To over IMAP byte-exact', async () => {
    const { blobs } = node.app.backends;
    const before = new Set(await mailBlobIds(blobs));
    const raw = multipart(sender, recipients, 'to ten');
    await sendMail(node.app.ports.smtp as number, { from: sender, to: recipients }, raw);
    const delivered = await Promise.all(recipients.map((user) => eventually(() => inbox(user), (l) => l.length === 1, `the mail in ${user}'s INBOX`)));

    const blobIds = new Set(delivered.map(([m]) => m.blobId));
    expect(blobIds.size).toBe(1);
    const [blobId] = blobIds;
    const added = (await mailBlobIds(blobs)).filter((id) => !before.has(id));
    expect(added).toEqual([blobId]);
    const body = await blobs.readBytes(MAIL_BUCKET, blobId);
    expect(body.toString()).not.toContain('Delivered-To');

    for (const [i, user] of recipients.entries()) {
      const prefix = Buffer.from(`Delivered-To: ${user}\r\n`);
      const whole = Buffer.concat([prefix, body]);
      expect(delivered[i][0]).toMatchObject({ headerPrefix: prefix, size: whole.length });
      if (i % 3 !== 0) continue; // IMAP for a few of them keeps the test short; the model was checked for all
      const client = imapClient(node.app.ports.imap as number, user, PASSWORD);
      await client.connect();
      try {
        await client.mailboxOpen('INBOX');
        const fetched = await client.fetchOne('1', { source: true, size: true, headers: true, bodyStructure: true, bodyParts: ['TEXT', '1', '2'] });
        expect(fetched).not.toBe(false);
        if (!fetched) return;
        expect(fetched.source).toEqual(whole);
        expect(fetched.size).toBe(whole.length);
        const headerEnd = whole.indexOf('\r\n\r\n') + 4;
        expect(fetched.headers).toEqual(whole.subarray(0, headerEnd));
        expect(fetched.bodyParts?.get('text')).toEqual(whole.subarray(headerEnd));
        expect(fetched.bodyParts?.get('1')?.toString()).toBe(`Four kilobytes of shared body ${'lorem ipsum '.repeat(300)}`);
        expect(fetched.bodyParts?.get('2')?.toString()).toBe('AAECAwQFBgcICQ==');
        expect(fetched.bodyStructure).toMatchObject({
          type: 'multipart/mixed',
          childNodes: [expect.objectContaining({ type: 'text/plain' }), expect.objectContaining({ type: 'application/octet-stream', size: 16 })],
        });
        // SEARCH HEADER finds the recipient's own Delivered-To and nobody else's.
        expect(await client.search({ header: { 'delivered-to': user } }, { uid: false })).toEqual([1]);
        expect(await client.search({ header: { 'delivered-to': recipients[(i + 1) % recipients.length] } }, { uid: false })).toEqual([]);

        // COPY and MOVE keep the copy's prefix.
        await client.mailboxCreate('Kept');
        await client.mailboxCreate('Moved');
        await client.messageCopy('1', 'Kept');
        await client.mailboxOpen('Kept');
        await client.messageMove('1', 'Moved');
        await client.mailboxOpen('Moved');
        const moved = await client.fetchOne('1', { source: true, size: true });
        expect(moved && moved.source).toEqual(whole);
        expect(moved && moved.size).toBe(whole.length);
      } finally {
        await client.logout();
      }
    }
  }, 180_000);

  it('delivers a retried step exactly once, even when the first attempt filled the quota', async () => {
    const user = recipients[8]; // not touched over IMAP: its INBOX holds all its messages (the quota counts every mailbox)
    const { mailboxes, blobs, quotas } = node.app.backends;
    const count = (await inbox(user)).length;
    const limit = await fetch(`${node.webadmin}/quota/users/${user}/count`, { method: 'PUT', body: String(count + 1), headers: { 'content-type': 'text/plain' } });
    expect(limit.status).toBe(204);
    const h = await createMailetHarness({ mailboxes, localDomains: [domain] });
    try {
      const localDelivery = MAILETS.find((m) => m.name === 'LocalDelivery')!;
      const text = multipart(sender, [user], 'fills the quota');
      const mail = await h.mail(text, { sender, recipients: [user], mailId: 'shared-retry', name: 'shared-retry' });
      // The node's append reads this blob from its own store: the same bytes give the same id there.
      expect((await blobs.put(MAIL_BUCKET, Buffer.from(text))).blobId).toBe(mail.messageBlobId);
      const withHeaders = { ...mail, attributes: { ...mail.attributes, [PER_RECIPIENT_HEADERS_ATTRIBUTE]: { [user]: [['Delivered-To', user]] } } };
      const first = await h.runMailet(localDelivery, withHeaders);
      expect(first.attributes[FAILED_RECIPIENTS_ATTRIBUTE]).toBeUndefined();
      await eventually(() => quotas!.getUsage(user), (u) => u.count === count + 1, 'the recipient at its quota');
      const retried = await h.runMailet(localDelivery, withHeaders);
      expect(retried.attributes[FAILED_RECIPIENTS_ATTRIBUTE]).toBeUndefined();
      const after = await inbox(user);
      expect(after).toHaveLength(count + 1);
      expect(after[after.length - 1]).toMatchObject({ blobId: mail.messageBlobId, headerPrefix: Buffer.from(`Delivered-To: ${user}\r\n`) });
      // A per-recipient header that cannot be written fails that recipient for good, not the step forever.
      const bad = { ...mail, mailId: 'shared-bad', name: 'shared-bad', attributes: { ...mail.attributes, [PER_RECIPIENT_HEADERS_ATTRIBUTE]: { [user]: [['Bad Name', 'x']] } } };
      const refused = await h.runMailet(localDelivery, bad);
      expect(refused.attributes[FAILED_RECIPIENTS_ATTRIBUTE]).toEqual({ recipients: [user], error: expect.stringMatching(/header field name/) });
      expect(await inbox(user)).toHaveLength(count + 1);
    } finally {
      h.cleanup();
    }
  }, 90_000);
});
