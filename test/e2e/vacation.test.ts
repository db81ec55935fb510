import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { adminPut, sendMail, startTestNode, type TestNode } from '../helpers/postflow';

/**
 * Vacation end to end (James VacationMailet + `/vacation/{user}` WebAdmin routes, RFC 3834): the
 * sender gets one reply per vacation in its INBOX; lists, automatic mail and null senders get none.
 */
jest.setTimeout(240_000);

const BOB = 'bob@vac.example';
const ALICE = 'alice@vac.example';
const CAROL = 'carol@vac.example';
const DAVE = 'dave@vac.example';
const ERIN = 'erin@vac.example';

/** James' documented example of `GET /vacation/{user}`. */
const JAMES_EXAMPLE = {
  enabled: true,
  fromDate: '2021-09-20T10:00:00Z',
  toDate: '2099-09-27T18:00:00Z',
  subject: 'Out of office',
  textBody: 'I am on vacation, will be back soon.',
  htmlBody: '<p>I am on vacation, will be back soon.</p>',
};

describe.each(['embedded', 'distributed'] as const)('vacation on the %s profile', (profile) => {
  let node: TestNode;

  beforeAll(async () => {
    if (profile === 'distributed') await requireEngines(distributedTestConfig(newRunId()), 'cassandra', 's3', 'rabbitmq');
    node = await startTestNode(profile);
    expect((await adminPut(node.webadmin, '/domains/vac.example')).status).toBe(204);
    for (const user of [BOB, ALICE, CAROL, DAVE, ERIN]) expect((await adminPut(node.webadmin, `/users/${user}`, { password: 'vacation-password' })).status).toBe(204);
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
  }, 60_000);

  const post = (route: string, body: unknown) => fetch(node.webadmin + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  async function inbox(user: string): Promise<string[]> {
    const mailboxes = node.app.backends.mailboxes;
    const box = await mailboxes.getMailbox(user, 'INBOX');
    if (!box || box.messageCount === 0) return [];
    const out: string[] = [];
    for await (const message of mailboxes.getMessages(user, box.id, [ALL_UIDS], 'headers')) out.push(message.headers?.toString('utf8') ?? '');
    return out;
  }

  async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  let sent = 0;
  async function mailToBob(from: string | null, extraHeaders = ''): Promise<void> {
    const before = (await inbox(BOB)).length;
    const id = `vac-${++sent}-${Date.now()}`;
    const raw = `From: ${from ?? 'robot@remote.example'}\r\nTo: ${BOB}\r\nSubject: question ${id}\r\nMessage-ID: <${id}@vac.example>\r\n${extraHeaders}\r\nhello bob\r\n`;
    await sendMail(node.app.ports.smtp as number, { from: from ?? '', to: [BOB] }, raw);
    await eventually(async () => (await inbox(BOB)).length === before + 1, 'the mail in bob’s INBOX');
    // The reply, if any, is a mail of its own: give it the time to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
  }

  it("stores and shows the vacation in James' JSON (documented example)", async () => {
    expect((await post(`/vacation/${BOB}`, JAMES_EXAMPLE)).status).toBe(204);
    const response = await fetch(`${node.webadmin}/vacation/${BOB}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JAMES_EXAMPLE);
  });

  it('answers a sender once per vacation, in its INBOX, with an RFC 3834 auto-reply', async () => {
    await mailToBob(ALICE);
    await eventually(async () => (await inbox(ALICE)).length === 1, 'the vacation reply in alice’s INBOX');
    const [reply] = await inbox(ALICE);
    expect(reply).toMatch(/^Subject: Out of office\r?$/m);
    expect(reply).toMatch(/^Auto-Submitted: auto-replied\r?$/m);
    expect(reply).toMatch(/^From: bob@vac\.example\r?$/m);
    expect(reply).toMatch(/^In-Reply-To: <vac-\d+-\d+@vac\.example>\r?$/m);

    await mailToBob(ALICE);
    expect(await inbox(ALICE)).toHaveLength(1);
  });

  it('answers again after the vacation changed (the registry is flushed)', async () => {
    expect((await post(`/vacation/${BOB}`, { subject: 'Still out of office' })).status).toBe(204);
    expect(await (await fetch(`${node.webadmin}/vacation/${BOB}`)).json()).toEqual({ ...JAMES_EXAMPLE, subject: 'Still out of office' });
    await mailToBob(ALICE);
    await eventually(async () => (await inbox(ALICE)).length === 2, 'the second vacation reply');
    expect((await inbox(ALICE))[1]).toMatch(/^Subject: Still out of office\r?$/m);
  });

  it('does not answer automatic mail, mailing lists, bulk mail or a null sender', async () => {
    await mailToBob(CAROL, 'Auto-Submitted: auto-generated\r\n');
    await mailToBob(DAVE, 'List-Id: <team.vac.example>\r\n');
    await mailToBob(ERIN, 'Precedence: bulk\r\n');
    await mailToBob(null);
    for (const user of [CAROL, DAVE, ERIN]) expect({ user, mails: (await inbox(user)).length }).toEqual({ user, mails: 0 });
  });

  it('stops answering once the vacation is deleted (James: disabled, every field removed)', async () => {
    expect((await fetch(`${node.webadmin}/vacation/${BOB}`, { method: 'DELETE' })).status).toBe(204);
    expect(await (await fetch(`${node.webadmin}/vacation/${BOB}`)).json()).toEqual({ enabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null });
    await mailToBob(ERIN);
    expect(await inbox(ERIN)).toHaveLength(0);
  });

  it('does not answer before fromDate', async () => {
    expect((await post(`/vacation/${BOB}`, { ...JAMES_EXAMPLE, fromDate: '2098-01-01T00:00:00Z' })).status).toBe(204);
    await mailToBob(ERIN);
    expect(await inbox(ERIN)).toHaveLength(0);
    expect((await fetch(`${node.webadmin}/vacation/${BOB}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('refuses malformed vacations with 400 and unknown users with 404, leaving the stored one unchanged', async () => {
    const bad: unknown[] = [
      { fromDate: 'next monday' },
      { toDate: '2021-09-20' },
      { fromDate: '2022-01-02T00:00:00Z', toDate: '2022-01-01T00:00:00Z' },
      { enabled: 'yes' },
      { subject: 42 },
      { subject: 'two\r\nlines' },
      { textBody: 'x'.repeat(100_001) },
      { colour: 'blue' },
      [],
      '{not json',
    ];
    for (const body of bad) {
      const response = await post(`/vacation/${BOB}`, body);
      expect({ body: JSON.stringify(body).slice(0, 60), status: response.status }).toEqual({ body: JSON.stringify(body).slice(0, 60), status: 400 });
    }
    expect(await (await fetch(`${node.webadmin}/vacation/${BOB}`)).json()).toEqual({ enabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null });
    for (const [method, body] of [['GET', undefined], ['POST', JSON.stringify({ enabled: true })], ['DELETE', undefined]] as const) {
      const response = await fetch(`${node.webadmin}/vacation/nobody@vac.example`, { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
      expect({ method, status: response.status }).toEqual({ method, status: 404 });
    }
    expect((await fetch(`${node.webadmin}/vacation/not%20an%20address`)).status).toBe(400);
  });
});
