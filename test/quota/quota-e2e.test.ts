import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import { ERROR_REPOSITORY_PATH } from '../../src/mailet/graph/default-graph';
import { adminPut, sendMail, startTestNode, type TestNode } from '../helpers/postflow';
import { RawClient } from '../protocols/imap/doubles';

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

function raw(from: string, to: string, subject: string, body = 'hello'): string {
  return [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${Math.random().toString(36).slice(2)}@remote.example>`, 'Date: Mon, 30 Nov 2026 10:00:00 +0000', '', body, ''].join('\r\n');
}

/**
 * Quotas end to end on a real node of each profile: WebAdmin routes (James' shapes, cited from
 * James' UserQuotaRoutes / manage-webadmin: `{"global","domain","user","computed","occupation"}`,
 * -1 for unlimited, 204 for an undefined limit), IMAP APPEND and QUOTA, LocalDelivery over quota,
 * threshold warnings and the recompute task.
 */
describe.each(['embedded', 'distributed'] as const)('quotas on the %s profile', (profile) => {
  let node: TestNode;
  const domain = `quota-${profile}.example`;
  const bob = `bob@${domain}`;
  const alice = `alice@${domain}`;
  const admin = `admin@${domain}`;
  let api: (method: string, route: string, body?: string, contentType?: string) => Promise<{ status: number; json: unknown; text: string }>;

  beforeAll(async () => {
    node = await startTestNode(profile, { quota: { thresholds: '0.5', imapAdmins: [admin] }, smtp: { submissionPort: 0, tlsPort: 0 } });
    expect((await adminPut(node.webadmin, `/domains/${domain}`)).status).toBe(204);
    for (const user of [bob, alice, admin]) expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    api = async (method, route, body, contentType = 'application/json') => {
      const response = await fetch(node.webadmin + route, { method, body, headers: body === undefined ? {} : { 'content-type': contentType } });
      const text = await response.text();
      let json: unknown = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      return { status: response.status, json, text };
    };
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
  }, 60_000);

  it('answers the WebAdmin quota routes with James shapes and refuses bad input', async () => {
    expect((await api('GET', '/quota/count')).status).toBe(204);
    expect((await api('PUT', '/quota/count', '100', 'text/plain')).status).toBe(204);
    expect(await api('GET', '/quota/count')).toMatchObject({ status: 200, json: 100 });
    expect((await api('PUT', '/quota/size', '-1')).status).toBe(204);
    expect((await api('GET', '/quota')).json).toEqual({ count: 100, size: -1 });
    expect((await api('PUT', '/quota', JSON.stringify({ count: 1000, size: null }))).status).toBe(204);
    expect((await api('GET', '/quota')).json).toEqual({ count: 1000 });

    expect((await api('PUT', `/quota/domains/${domain}/size`, '1000000')).status).toBe(204);
    expect((await api('GET', `/quota/domains/${domain}`)).json).toEqual({ global: { count: 1000 }, domain: { size: 1000000 }, computed: { count: 1000, size: 1000000 } });
    expect((await api('PUT', `/quota/users/${bob}/count`, '50')).status).toBe(204);
    const details = await api('GET', `/quota/users/${bob}`);
    expect(details.status).toBe(200);
    expect(details.json).toEqual({
      global: { count: 1000 },
      domain: { size: 1000000 },
      user: { count: 50 },
      computed: { count: 50, size: 1000000 },
      occupation: { count: 0, size: 0, ratio: { count: 0, size: 0, max: 0 } },
    });
    expect((await api('DELETE', `/quota/users/${bob}/count`)).status).toBe(204);
    expect((await api('GET', `/quota/users/${bob}/count`)).status).toBe(204);
    expect((await api('DELETE', `/quota/domains/${domain}/size`)).status).toBe(204);
    expect((await api('DELETE', '/quota/count')).status).toBe(204);

    // Malformed input and unknown resources.
    for (const body of ['-2', 'abc', '1.5', '{"count":1}', '', '99999999999999999999']) {
      const r = await api('PUT', `/quota/users/${bob}/size`, body, body.startsWith('{') ? 'application/json' : 'text/plain');
      expect([r.status, body]).toEqual([400, body]);
    }
    expect((await api('PUT', '/quota/count', '-5')).json).toMatchObject({ statusCode: 400, type: 'InvalidArgument', message: 'Quota should be positive or unlimited (-1)' });
    expect((await api('PUT', '/quota', JSON.stringify({ count: 'x' }))).status).toBe(400);
    expect((await api('PUT', '/quota', JSON.stringify({ messages: 3 }))).status).toBe(400);
    expect((await api('PUT', '/quota', '[1,2]')).status).toBe(400);
    expect(await api('GET', `/quota/users/nobody@${domain}`)).toMatchObject({ status: 404, json: { type: 'notFound', message: 'User not found' } });
    expect((await api('PUT', `/quota/users/nobody@${domain}/count`, '3')).status).toBe(404);
    expect((await api('GET', '/quota/domains/unknown.example')).status).toBe(404);
    expect((await api('GET', '/quota/users?minOccupationRatio=abc')).status).toBe(400);
    expect((await api('GET', '/quota/users?limit=0')).status).toBe(400);
    expect((await api('POST', '/quota/users')).status).toBe(400);
    expect((await api('POST', '/quota/users?task=Unknown')).status).toBe(400);
    expect((await api('POST', '/quota/users?task=RecomputeCurrentQuotas&usersPerSecond=0')).status).toBe(400);
    expect((await api('POST', '/quota/users?task=RecomputeCurrentQuotas&quotaComponent=SIEVE')).status).toBe(400);
    // Nothing above changed a limit.
    expect((await api('GET', `/quota/users/${bob}`)).json).toEqual({ occupation: { count: 0, size: 0, ratio: { count: 0, size: 0, max: 0 } } });
  });

  it('refuses an IMAP APPEND over quota with NO [OVERQUOTA] and reports usage with GETQUOTAROOT', async () => {
    const user = `carol@${domain}`;
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    expect((await api('PUT', `/quota/users/${user}`, JSON.stringify({ count: 1, size: 10240 }))).status).toBe(204);
    const { client } = await RawClient.connect(node.app.ports.imap as number);
    try {
      expect((await client.command('a1', `LOGIN ${user} "${PASSWORD}"`)).at(-1)).toMatch(/^a1 OK/);
      const message = raw(alice, user, 'first');
      client.write(`a2 APPEND INBOX {${message.length}+}\r\n${message}\r\n`);
      expect((await client.readUntilTagged('a2')).at(-1)).toMatch(/^a2 OK/);
      await eventually(() => node.app.backends.quotas!.getUsage(user), (u) => u.count === 1, 'usage after APPEND');
      client.write(`a3 APPEND INBOX {${message.length}+}\r\n${message}\r\n`);
      expect((await client.readUntilTagged('a3')).at(-1)).toMatch(/^a3 NO \[OVERQUOTA\] /);
      const root = await client.command('a4', 'GETQUOTAROOT INBOX');
      expect(root).toEqual([`* QUOTAROOT "INBOX" "#private&${user}"`, `* QUOTA "#private&${user}" (STORAGE 1 10 MESSAGE 1 1)`, 'a4 OK GETQUOTAROOT completed']);
      const status = await client.command('a5', 'STATUS INBOX (MESSAGES)');
      expect(status[0]).toBe('* STATUS "INBOX" (MESSAGES 1)');
    } finally {
      client.write('z LOGOUT\r\n');
    }
  });

  it('lets an IMAP administrator set and read any quota root with SETQUOTA and GETQUOTA', async () => {
    const user = `gina@${domain}`;
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    const { client } = await RawClient.connect(node.app.ports.imap as number);
    try {
      expect((await client.command('a1', `LOGIN ${admin} "${PASSWORD}"`)).at(-1)).toMatch(/^a1 OK/);
      expect(await client.command('a2', `SETQUOTA "#private&${user}" (STORAGE 512 MESSAGE 100)`)).toEqual([`* QUOTA "#private&${user}" (STORAGE 0 512 MESSAGE 0 100)`, 'a2 OK SETQUOTA completed']);
      expect((await api('GET', `/quota/users/${user}`)).json).toMatchObject({ user: { count: 100, size: 512 * 1024 } });
      expect(await client.command('a3', `GETQUOTA "#private&${user}"`)).toEqual([`* QUOTA "#private&${user}" (STORAGE 0 512 MESSAGE 0 100)`, 'a3 OK GETQUOTA completed']);
      // Only the listed resources stay limited (RFC 9208 §4.1).
      expect(await client.command('a4', `SETQUOTA "#private&${user}" (MESSAGE 7)`)).toEqual([`* QUOTA "#private&${user}" (MESSAGE 0 7)`, 'a4 OK SETQUOTA completed']);
      expect((await api('GET', `/quota/users/${user}`)).json).toMatchObject({ user: { count: 7 } });
      expect((await client.command('a5', `SETQUOTA "#private&${user}" (FILES 3)`)).at(-1)).toMatch(/^a5 NO \[CANNOT\]/);
    } finally {
      client.write('z LOGOUT\r\n');
    }
  });

  it('bounces a mail to an over-quota recipient to its sender and keeps it in the error repository', async () => {
    const user = `dave@${domain}`;
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    expect((await api('PUT', `/quota/users/${user}/count`, '0')).status).toBe(204);
    await sendMail(node.app.ports.smtp as number, { from: alice, to: [user] }, raw(alice, user, 'over quota please'));
    const { mailboxes, mailRepositories } = node.app.backends;
    // Other tests' over-quota users (their warning mails) land there too: look for this recipient's mail.
    const errorsFor = async () => {
      const found = [];
      for (const key of await mailRepositories.listKeys(ERROR_REPOSITORY_PATH)) {
        const stored = await mailRepositories.get(ERROR_REPOSITORY_PATH, key);
        if (stored && stored.mail.recipients.includes(user)) found.push(stored.mail);
      }
      return found;
    };
    const errors = await eventually(errorsFor, (list) => list.length > 0, 'the mail in the error repository');
    expect(errors).toHaveLength(1);
    expect(errors[0].errorMessage).toMatch(/Quota exceeded/);
    const aliceInbox = await mailboxes.ensureMailbox(alice, 'INBOX');
    const subjects = async () => {
      const out: string[] = [];
      for await (const m of mailboxes.getMessages(alice, aliceInbox.id, [ALL_UIDS], 'headers')) out.push(m.parsed?.envelope.subject ?? '');
      return out;
    };
    const found = await eventually(subjects, (s) => s.length > 0, 'a bounce in the sender mailbox');
    expect(found.length).toBe(1);
    const userInbox = await mailboxes.ensureMailbox(user, 'INBOX');
    expect(await mailboxes.listUids(userInbox.id)).toEqual([]);
    // The bounce quotes the over-quota reason.
    const bounce = [];
    for await (const m of mailboxes.getMessages(alice, aliceInbox.id, [ALL_UIDS], 'full')) bounce.push(m);
    const stream = await bounce[0].openContent!();
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toMatch(/Quota exceeded/);
  });

  it('sends one warning mail when the usage crosses a threshold, and not again', async () => {
    const user = `erin@${domain}`;
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    expect((await api('PUT', `/quota/users/${user}/count`, '4')).status).toBe(204);
    const { mailboxes, blobs } = node.app.backends;
    const inbox = await mailboxes.ensureMailbox(user, 'INBOX');
    for (let i = 0; i < 2; i++) {
      const stored = await blobs.put(MAIL_BUCKET, Buffer.from(raw(alice, user, `m${i}`)));
      await mailboxes.append(user, inbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
    }
    const subjects = async () => {
      const out: string[] = [];
      for await (const m of mailboxes.getMessages(user, inbox.id, [ALL_UIDS], 'headers')) out.push(m.parsed?.envelope.subject ?? '');
      return out;
    };
    await eventually(subjects, (s) => s.length === 3, 'the warning mail');
    await new Promise((r) => setTimeout(r, 1500));
    const all = await subjects();
    expect(all.filter((s) => s.startsWith('Warning: Your email usage'))).toHaveLength(1);
    expect(all).toHaveLength(3);
  });

  it('recomputes drifted usage with the RecomputeCurrentQuotas task', async () => {
    const user = `frank@${domain}`;
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    const { mailboxes, blobs, quotas } = node.app.backends;
    const inbox = await mailboxes.ensureMailbox(user, 'INBOX');
    const stored = await blobs.put(MAIL_BUCKET, Buffer.from(raw(alice, user, 'kept')));
    await mailboxes.append(user, inbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
    await eventually(() => quotas!.getUsage(user), (u) => u.count === 1, 'usage of frank');
    await quotas!.setUsage(user, { count: 42, size: 7 });
    const started = await api('POST', '/quota/users?task=RecomputeCurrentQuotas');
    expect(started.status).toBe(201);
    const { taskId } = started.json as { taskId: string };
    const task = await api('GET', `/tasks/${taskId}/await?timeout=60s`);
    expect(task.status).toBe(200);
    expect(task.json).toMatchObject({
      taskId,
      type: 'recompute-current-quotas',
      status: 'completed',
      additionalInformation: { type: 'recompute-current-quotas', failedQuotaRoots: [], runningOptions: { usersPerSecond: null, quotaComponents: ['MAILBOX'] } },
    });
    expect((task.json as { additionalInformation: { processedQuotaRoots: number } }).additionalInformation.processedQuotaRoots).toBeGreaterThanOrEqual(6);
    expect(await quotas!.getUsage(user)).toEqual({ count: 1, size: stored.size });
    const listed = await api('GET', `/quota/users?domain=${domain}`);
    expect((listed.json as Array<{ username: string }>).map((e) => e.username)).toContain(user);
  }, 90_000);
});
