import { MAIL_BUCKET } from '../../src/blob/api';
import { RRT_ERROR_REPOSITORY_PATH } from '../../src/mailet/graph/default-graph';
import { adminPut, sendMail, startTestNode, type TestNode, mailWorkflow } from '../helpers/postflow';

const DOMAIN = 'rrt.test';
const ALIAS_DOMAIN = 'alias.test';
const LOOP_DOMAIN = 'loop.test';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const CAROL = `carol@${DOMAIN}`;
const PASSWORD = 'rrt e2e password';

function message(subject: string): string {
  return [
    'From: Sender <sender@remote.example>',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}.${Date.now()}@remote.example>`,
    'Date: Mon, 30 Nov 2026 12:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${subject}`,
    '',
  ].join('\r\n');
}

async function adminSend(base: string, method: string, route: string, body?: string): Promise<Response> {
  return fetch(base + route, { method, body, headers: body === undefined ? {} : { 'content-type': 'text/plain' } });
}

/**
 * Recipient rewriting end to end, run unchanged on each profile: mappings written over WebAdmin,
 * a real mail over SMTP, and the mailboxes it lands in.
 */
export function describeRrtMailPath(profile: 'embedded' | 'distributed'): void {
  describe(`recipient rewriting on the ${profile} profile`, () => {
    let node: TestNode;

    beforeAll(async () => {
      node = await startTestNode(profile, { auth: { failureDelayMs: 0 } });
      for (const domain of [DOMAIN, ALIAS_DOMAIN, LOOP_DOMAIN]) expect((await adminPut(node.webadmin, `/domains/${domain}`)).status).toBe(204);
      for (const user of [ALICE, BOB, CAROL]) expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    }, 120_000);

    afterAll(async () => {
      await node?.stop();
    });

    async function deliver(to: string[], subject: string, from = 'sender@remote.example'): Promise<string> {
      const raw = message(subject);
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from, to }, raw);
      await (await mailWorkflow(node.app.client, mailId)).result();
      return raw;
    }

    /** Subjects of the messages in the user's INBOX. */
    async function inboxSubjects(user: string): Promise<string[]> {
      const inbox = await node.app.backends.mailboxes.getMailbox(user, 'INBOX');
      if (!inbox) return [];
      const subjects: string[] = [];
      for await (const m of node.app.backends.mailboxes.listMessages(inbox.id, { from: 1, to: Number.MAX_SAFE_INTEGER })) {
        const text = (await node.app.backends.blobs.readBytes(MAIL_BUCKET, m.blobId)).toString('utf8');
        subjects.push(/^Subject: (.*)$/m.exec(text)?.[1] ?? '');
      }
      return subjects;
    }

    it('delivers a mail to a forward to its destination, and keeps a copy when the source is listed among the destinations', async () => {
      expect((await adminPut(node.webadmin, `/address/forwards/${ALICE}/targets/${BOB}`)).status).toBe(204);
      expect((await adminPut(node.webadmin, `/address/forwards/${ALICE}/targets/${ALICE}`)).status).toBe(204);
      await deliver([ALICE], 'forwarded with copy');
      expect(await inboxSubjects(BOB)).toContain('forwarded with copy');
      expect(await inboxSubjects(ALICE)).toContain('forwarded with copy');
      expect(await inboxSubjects(CAROL)).not.toContain('forwarded with copy');

      expect((await adminSend(node.webadmin, 'DELETE', `/address/forwards/${ALICE}/targets/${ALICE}`)).status).toBe(204);
      await deliver([ALICE], 'forwarded without copy');
      expect(await inboxSubjects(BOB)).toContain('forwarded without copy');
      expect(await inboxSubjects(ALICE)).not.toContain('forwarded without copy');
      expect((await adminSend(node.webadmin, 'DELETE', `/address/forwards/${ALICE}/targets/${BOB}`)).status).toBe(204);
    });

    it('delivers a mail to a group to every member and to nobody else', async () => {
      const team = `team@${DOMAIN}`;
      expect((await adminPut(node.webadmin, `/address/groups/${team}/${ALICE}`)).status).toBe(204);
      expect((await adminPut(node.webadmin, `/address/groups/${team}/${CAROL}`)).status).toBe(204);
      await deliver([team], 'to the team');
      expect(await inboxSubjects(ALICE)).toContain('to the team');
      expect(await inboxSubjects(CAROL)).toContain('to the team');
      expect(await inboxSubjects(BOB)).not.toContain('to the team');
      expect(await node.app.backends.mailboxes.getMailbox(team, 'INBOX')).toBeNull();
    });

    it('delivers a mail to an alias to the user it belongs to', async () => {
      const alias = `c.smith@${DOMAIN}`;
      expect((await adminPut(node.webadmin, `/address/aliases/${CAROL}/sources/${alias}`)).status).toBe(204);
      await deliver([alias], 'to an alias');
      expect(await inboxSubjects(CAROL)).toContain('to an alias');
      expect(await node.app.backends.mailboxes.getMailbox(alias, 'INBOX')).toBeNull();
    });

    it('delivers a mail to a domain alias to the same user of the destination domain', async () => {
      expect((await adminPut(node.webadmin, `/domains/${DOMAIN}/aliases/${ALIAS_DOMAIN}`)).status).toBe(204);
      await deliver([`bob@${ALIAS_DOMAIN}`], 'to a domain alias');
      expect(await inboxSubjects(BOB)).toContain('to a domain alias');
      expect(await node.app.backends.mailboxes.getMailbox(`bob@${ALIAS_DOMAIN}`, 'INBOX')).toBeNull();
    });

    it('refuses a mapping that would create a loop when it is written, with James\' 409 error body', async () => {
      const a = `loop-a@${DOMAIN}`;
      const b = `loop-b@${DOMAIN}`;
      expect((await adminPut(node.webadmin, `/address/groups/${a}/${b}`)).status).toBe(204);
      const refused = await adminPut(node.webadmin, `/address/groups/${b}/${a}`);
      expect(refused.status).toBe(409);
      expect(await refused.json()).toMatchObject({ statusCode: 409, type: 'WrongState', message: expect.stringContaining('loop') });
      expect(Object.keys((await (await fetch(`${node.webadmin}/mappings`)).json()) as Record<string, unknown>)).not.toContain(b);
    });

    it('puts a mail whose recipient rewrites in a runtime loop into the rrt-error repository, and still delivers the other recipients', async () => {
      // A regex on the whole domain appends an "x" forever: no write-time check can see that loop.
      const regex = encodeURIComponent(`(.*)@loop\\.test:\${1}x@${LOOP_DOMAIN}`);
      expect((await adminSend(node.webadmin, 'POST', `/mappings/regex/${LOOP_DOMAIN}/targets/${regex}`)).status).toBe(204);

      const raw = message('runtime loop');
      const { mailId } = await sendMail(node.app.ports.smtp as number, { from: '', to: [`spin@${LOOP_DOMAIN}`] }, raw);
      await (await mailWorkflow(node.app.client, mailId)).result();
      const keys = await node.app.backends.mailRepositories.listKeys(RRT_ERROR_REPOSITORY_PATH);
      const stored = await Promise.all(keys.filter((k) => k.startsWith(mailId)).map((k) => node.app.backends.mailRepositories.get(RRT_ERROR_REPOSITORY_PATH, k)));
      expect(stored).toHaveLength(1);
      expect(stored[0]?.mail.recipients).toEqual([`spin@${LOOP_DOMAIN}`]);
      expect(stored[0]?.mail.errorMessage).toContain('554 Too many mappings');

      const listed = (await (await fetch(`${node.webadmin}/mailRepositories/${encodeURIComponent(RRT_ERROR_REPOSITORY_PATH)}/mails`)).json()) as string[];
      expect(listed).toEqual(expect.arrayContaining(keys));

      // Mixed: the good recipient is delivered, the looping one is sent on to rrt-error as a new mail.
      const before = (await node.app.backends.mailRepositories.listKeys(RRT_ERROR_REPOSITORY_PATH)).length;
      await deliver([BOB, `spin2@${LOOP_DOMAIN}`], 'mixed loop', '');
      expect(await inboxSubjects(BOB)).toContain('mixed loop');
      await waitFor(async () => (await node.app.backends.mailRepositories.listKeys(RRT_ERROR_REPOSITORY_PATH)).length > before);
    });

    it('refuses RCPT to an address with an error mapping, with the mapping\'s text', async () => {
      const gone = `gone@${DOMAIN}`;
      expect((await adminSend(node.webadmin, 'POST', `/mappings/error/${gone}/targets/${encodeURIComponent('This address was closed')}`)).status).toBe(204);
      await expect(sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [gone] }, message('to a closed address'))).rejects.toMatchObject({
        responseCode: 550,
        response: expect.stringContaining('This address was closed'),
      });
    });
  });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
