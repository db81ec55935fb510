import { distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';
import { adminPut, sendMail, startTestNode, type TestNode } from '../helpers/postflow';

/**
 * James' user tasks on a real node of each profile (real Temporal): `POST /users/{old}/rename/{new}?action=rename`
 * (UsernameChangeTask) and `POST /users/{u}?action=deleteData` (DeleteUserDataTask), and
 * `DELETE /users/{u}` status codes.
 */
jest.setTimeout(120_000);

const OLD = 'old@example.com';
const NEW = 'new@example.com';
const CAROL = 'carol@example.com';

describe.each(['embedded', 'distributed'] as const)('user tasks on the %s profile', (profile) => {
  let node: TestNode;

  beforeAll(async () => {
    if (profile === 'distributed') await requireEngines(distributedTestConfig(newRunId()), 'cassandra', 's3', 'rabbitmq');
    node = await startTestNode(profile);
    expect((await adminPut(node.webadmin, '/domains/example.com')).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  }, 60_000);

  async function post(route: string): Promise<Response> {
    return fetch(node.webadmin + route, { method: 'POST' });
  }

  async function get<T>(route: string): Promise<T> {
    const response = await fetch(node.webadmin + route);
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  }

  async function createUser(user: string): Promise<void> {
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: 'secret-password' })).status).toBe(204);
  }

  async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function inboxCount(user: string): Promise<number> {
    return (await node.app.backends.mailboxes.getMailbox(user, 'INBOX'))?.messageCount ?? 0;
  }

  async function deliver(to: string, subject: string): Promise<void> {
    const raw = `From: sender@remote.example\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.example>\r\n\r\nbody of ${subject}\r\n`;
    await sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [to] }, raw);
  }

  describe('POST /users/{oldUser}/rename/{newUser}?action=rename', () => {
    it("moves mailboxes, messages, subscriptions, forwards, aliases and delegations to the new user as James' UsernameChangeTask", async () => {
      await createUser(OLD);
      await createUser(CAROL);
      await deliver(OLD, 'before rename');
      await eventually(async () => (await inboxCount(OLD)) === 1, 'the first mail in the old INBOX');
      const mailboxes = node.app.backends.mailboxes;
      await mailboxes.createMailbox(OLD, 'Projects');
      await mailboxes.createMailbox(OLD, 'Projects.2026');
      await mailboxes.subscribe(OLD, 'Projects.2026');
      await mailboxes.setRights(OLD, 'Projects', CAROL, 'lr');
      expect((await adminPut(node.webadmin, `/address/forwards/${OLD}/targets/${CAROL}`)).status).toBe(204);
      // Listing the user among its forward targets keeps a local copy (James): it must follow the rename.
      expect((await adminPut(node.webadmin, `/address/forwards/${OLD}/targets/${OLD}`)).status).toBe(204);
      expect((await adminPut(node.webadmin, `/address/aliases/${OLD}/sources/nick@example.com`)).status).toBe(204);
      expect((await adminPut(node.webadmin, `/users/${OLD}/authorizedUsers/${CAROL}`)).status).toBe(200);
      expect((await fetch(`${node.webadmin}/vacation/${OLD}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: true, textBody: 'away' }) })).status).toBe(204);
      expect((await adminPut(node.webadmin, `/quota/users/${OLD}/count`, 1000)).status).toBe(204);
      await createUser(NEW);

      const response = await post(`/users/${OLD}/rename/${NEW}?action=rename`);
      expect(response.status).toBe(201);
      const { taskId } = (await response.json()) as { taskId: string };
      expect(response.headers.get('location')).toBe(`/tasks/${taskId}`);
      const task = await get<{ status: string; type: string; additionalInformation: Record<string, unknown> }>(`/tasks/${taskId}/await?timeout=60s`);
      expect(task).toMatchObject({
        status: 'completed',
        type: 'UsernameChangeTask',
        additionalInformation: {
          type: 'UsernameChangeTask',
          oldUser: OLD,
          newUser: NEW,
          status: {
            ForwardUsernameChangeTaskStep: 'DONE',
            DelegationUsernameChangeTaskStep: 'DONE',
            QuotaUsernameChangeTaskStep: 'DONE',
            MailboxUsernameChangeTaskStep: 'DONE',
            ACLUsernameChangeTaskStep: 'DONE',
            VacationUsernameChangeTaskStep: 'DONE',
          },
          fromStep: null,
        },
      });
      expect((await get<{ taskId: string }[]>('/tasks')).map((t) => t.taskId)).toContain(taskId);

      // Mailboxes and messages
      expect(await inboxCount(NEW)).toBe(1);
      expect(await inboxCount(OLD)).toBe(0);
      expect((await mailboxes.listMailboxes(NEW)).map((m) => m.name)).toEqual(expect.arrayContaining(['INBOX', 'Projects', 'Projects.2026']));
      // No stale INBOX is left to the old user (it goes last, once empty).
      expect(await mailboxes.listMailboxes(OLD)).toEqual([]);
      expect(await mailboxes.listSubscriptions(NEW)).toContain('Projects.2026');
      expect(await mailboxes.listSubscriptions(OLD)).not.toContain('Projects.2026');
      expect((await mailboxes.getAcl(NEW, 'Projects'))[CAROL]).toBe('lr');
      // Mappings and delegations
      const forwards = await get<{ mailAddress: string }[]>(`/address/forwards/${NEW}`);
      expect(forwards.map((f) => f.mailAddress).sort()).toEqual([CAROL, NEW].sort());
      expect(await get(`/address/forwards/${OLD}`)).toEqual([{ mailAddress: NEW }]);
      expect(await get(`/address/aliases/${NEW}`)).toEqual([{ source: 'nick@example.com' }]);
      expect(await get(`/users/${NEW}/authorizedUsers`)).toEqual([CAROL]);
      expect(await get(`/users/${OLD}/authorizedUsers`)).toEqual([]);
      expect(await get(`/vacation/${NEW}`)).toMatchObject({ enabled: true, textBody: 'away' });
      expect(await get(`/quota/users/${NEW}/count`)).toBe(1000);
      expect((await fetch(`${node.webadmin}/quota/users/${OLD}/count`)).status).toBe(204);
      expect(await get(`/vacation/${OLD}`)).toMatchObject({ enabled: false, textBody: null });

      // Mail sent to the old address now reaches the new user.
      await deliver(OLD, 'after rename');
      await eventually(async () => (await inboxCount(NEW)) === 2, 'the forwarded mail in the new INBOX');
      await eventually(async () => (await inboxCount(CAROL)) === 1, 'the forwarded copy for carol');
      expect(await inboxCount(OLD)).toBe(0);
    });

    it('refuses, as James, a new user that does not exist, an old user that does not exist without force, a bad action and an unknown step', async () => {
      await createUser('x1@example.com');
      const cases: [string, RegExp][] = [
        [`/users/x1@example.com/rename/ghost@example.com?action=rename`, /'newUser' parameter should be an existing user/],
        [`/users/ghost@example.com/rename/x1@example.com?action=rename`, /'oldUser' parameter should be an existing user/],
        [`/users/x1@example.com/rename/${CAROL}`, /Invalid action/],
        [`/users/x1@example.com/rename/${CAROL}?action=move`, /Invalid action/],
        [`/users/x1@example.com/rename/${CAROL}?action=rename&fromStep=NoSuchStep`, /Starting step not found/],
        [`/users/x1@example.com/rename/X1@example.com?action=rename`, /must differ/],
        [`/users/not%20an%20address/rename/${CAROL}?action=rename`, /./],
      ];
      for (const [route, message] of cases) {
        const response = await post(route);
        expect({ route, status: response.status }).toEqual({ route, status: 400 });
        const body = (await response.json()) as { type: string; message: string };
        expect(body.type).toBe('InvalidArgument');
        expect(body.message).toMatch(message);
      }
    });

    it('with force, renames from a user that no longer exists; fromStep skips the earlier steps', async () => {
      await createUser('target@example.com');
      const response = await post(`/users/gone@example.com/rename/target@example.com?action=rename&force&fromStep=MailboxUsernameChangeTaskStep`);
      expect(response.status).toBe(201);
      const { taskId } = (await response.json()) as { taskId: string };
      const task = await get<{ status: string; additionalInformation: { status: Record<string, string>; fromStep: string } }>(`/tasks/${taskId}/await?timeout=60s`);
      expect(task.status).toBe('completed');
      expect(task.additionalInformation.fromStep).toBe('MailboxUsernameChangeTaskStep');
      expect(task.additionalInformation.status).toEqual({
        ForwardUsernameChangeTaskStep: 'SKIPPED',
        DelegationUsernameChangeTaskStep: 'SKIPPED',
        QuotaUsernameChangeTaskStep: 'SKIPPED',
        MailboxUsernameChangeTaskStep: 'DONE',
        ACLUsernameChangeTaskStep: 'DONE',
        VacationUsernameChangeTaskStep: 'DONE',
      });
      // The forward step was skipped: no forward from the old address was added.
      expect((await fetch(`${node.webadmin}/address/forwards/gone@example.com`)).status).toBe(404);
    });
  });

  describe('a username change whose step fails', () => {
    it('fails the task with the step FAILED and the later steps ABORTED (James step states)', async () => {
      await createUser('loop-old@example.com');
      await createUser('loop-new@example.com');
      // new → old already: the forward old → new the first step adds would loop.
      expect((await adminPut(node.webadmin, '/address/forwards/loop-new@example.com/targets/loop-old@example.com')).status).toBe(204);
      const response = await post('/users/loop-old@example.com/rename/loop-new@example.com?action=rename');
      expect(response.status).toBe(201);
      const { taskId } = (await response.json()) as { taskId: string };
      const task = await get<{ status: string; failedDate: string | null; additionalInformation: { status: Record<string, string> } }>(`/tasks/${taskId}/await?timeout=60s`);
      expect(task.status).toBe('failed');
      expect(task.failedDate).not.toBeNull();
      expect(task.additionalInformation.status).toEqual({
        ForwardUsernameChangeTaskStep: 'FAILED',
        DelegationUsernameChangeTaskStep: 'ABORTED',
        QuotaUsernameChangeTaskStep: 'ABORTED',
        MailboxUsernameChangeTaskStep: 'ABORTED',
        ACLUsernameChangeTaskStep: 'ABORTED',
        VacationUsernameChangeTaskStep: 'ABORTED',
      });
      // Nothing was half-moved: the mail of the old user stays where it was.
      expect(await get('/address/forwards/loop-new@example.com')).toEqual([{ mailAddress: 'loop-old@example.com' }]);
    });
  });

  describe('POST /users/{username}?action=deleteData', () => {
    it("deletes the user's mailboxes, mappings and delegations but keeps the account (James' DeleteUserDataTask)", async () => {
      const user = 'leaving@example.com';
      await createUser(user);
      await deliver(user, 'to be deleted');
      await eventually(async () => (await inboxCount(user)) === 1, 'the mail to delete');
      await node.app.backends.mailboxes.createMailbox(user, 'Archive.2020');
      expect((await adminPut(node.webadmin, `/address/forwards/${user}/targets/${CAROL}`)).status).toBe(204);
      expect((await adminPut(node.webadmin, `/users/${user}/authorizedUsers/${CAROL}`)).status).toBe(200);
      expect((await fetch(`${node.webadmin}/vacation/${user}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: true, textBody: 'gone' }) })).status).toBe(204);

      const response = await post(`/users/${user}?action=deleteData`);
      expect(response.status).toBe(201);
      const { taskId } = (await response.json()) as { taskId: string };
      const task = await get<{ status: string; type: string; additionalInformation: Record<string, unknown> }>(`/tasks/${taskId}/await?timeout=60s`);
      expect(task).toMatchObject({
        status: 'completed',
        type: 'DeleteUserDataTask',
        additionalInformation: { type: 'DeleteUserDataTask', username: user, status: { RecipientRewriteTableUserDeletionTaskStep: 'DONE', DelegationUserDeletionTaskStep: 'DONE', MailboxUserDeletionTaskStep: 'DONE', VacationUserDeletionTaskStep: 'DONE' } },
      });
      expect(await inboxCount(user)).toBe(0);
      expect((await node.app.backends.mailboxes.listMailboxes(user)).map((m) => m.name)).toEqual(['INBOX']);
      expect((await fetch(`${node.webadmin}/address/forwards/${user}`)).status).toBe(404);
      expect(await get(`/users/${user}/authorizedUsers`)).toEqual([]);
      expect(await get(`/vacation/${user}`)).toMatchObject({ enabled: false, textBody: null });
      expect((await fetch(`${node.webadmin}/users/${user}`, { method: 'HEAD' })).status).toBe(200);
    });

    it('refuses a missing user, a bad action and an unknown step with 400', async () => {
      for (const route of ['/users/ghost@example.com?action=deleteData', `/users/${CAROL}`, `/users/${CAROL}?action=purge`, `/users/${CAROL}?action=deleteData&fromStep=Nope`]) {
        const response = await post(route);
        expect({ route, status: response.status }).toEqual({ route, status: 400 });
      }
    });
  });

  describe('DELETE /users/{username}', () => {
    it('answers 204 for an existing user, and 204 as James does for a user that does not exist', async () => {
      await createUser('short-lived@example.com');
      expect((await fetch(`${node.webadmin}/users/short-lived@example.com`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${node.webadmin}/users/short-lived@example.com`, { method: 'HEAD' })).status).toBe(404);
      expect((await fetch(`${node.webadmin}/users/never-existed@example.com`, { method: 'DELETE' })).status).toBe(204);
    });

    it('answers 400 for a user name that is not an address', async () => {
      const response = await fetch(`${node.webadmin}/users/not%20an%20address`, { method: 'DELETE' });
      expect(response.status).toBe(400);
    });
  });
});
