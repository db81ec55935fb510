import { adminPut, imapClient, sendMail, startTestNode, type TestNode, mailWorkflow } from '../helpers/postflow';
import { LdapFixture } from '../users/ldap-fixture';

const USER = 'ldap.user@ldap.test';
const PASSWORD = 'directory password';

describe('LDAP users on a running node (embedded profile)', () => {
  let fixture: LdapFixture;
  let node: TestNode;

  beforeAll(async () => {
    fixture = await LdapFixture.create();
    await fixture.addUser(USER, PASSWORD);
    const { url, bindDn, bindPassword, baseDn } = fixture.config();
    node = await startTestNode('embedded', { users: { repository: 'ldap' }, ldap: { url, bindDn, bindPassword, baseDn }, auth: { failureDelayMs: 0 } });
    expect((await adminPut(node.webadmin, '/domains/ldap.test')).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await fixture?.cleanup();
  });

  it('lists the directory\'s users and refuses to create one with 409 (read-only)', async () => {
    expect(await (await fetch(`${node.webadmin}/users`)).json()).toEqual([{ username: USER }]);
    const refused = await adminPut(node.webadmin, '/users/new.user@ldap.test', { password: 'x' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ statusCode: 409, type: 'WrongState', message: expect.stringContaining('read-only') });
  });

  it('delivers a mail to an LDAP user, who reads it after logging in over IMAP with the directory password', async () => {
    const raw = ['From: sender@remote.example', `To: ${USER}`, 'Subject: hello LDAP', '', 'Delivered to a directory user.', ''].join('\r\n');
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [USER] }, raw);
    await (await mailWorkflow(node.app.client, mailId)).result();

    const client = imapClient(node.app.ports.imap as number, USER, PASSWORD);
    await client.connect();
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const fetched = await client.fetchOne('*', { source: true }, { uid: false });
        expect(fetched && fetched.source?.toString('utf8')).toContain('Subject: hello LDAP');
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  });

  it('refuses an IMAP login with a wrong directory password', async () => {
    await expect(imapClient(node.app.ports.imap as number, USER, 'not the password').connect()).rejects.toMatchObject({ authenticationFailed: true });
  });

  it('refuses RCPT to an address of the domain the directory does not know', async () => {
    await expect(sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: ['stranger@ldap.test'] }, 'Subject: x\r\n\r\nx\r\n')).rejects.toMatchObject({ responseCode: 550 });
  });
});

describe('a node whose LDAP directory does not answer', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode('embedded', { users: { repository: 'ldap' }, ldap: { url: 'ldap://127.0.0.1:9', connectTimeoutMs: 500 }, auth: { failureDelayMs: 0 } });
    expect((await adminPut(node.webadmin, '/domains/ldap.test')).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  it('answers RCPT with a temporary 451 rather than refusing the recipient', async () => {
    await expect(sendMail(node.app.ports.smtp as number, { from: 'sender@remote.example', to: [USER] }, 'Subject: x\r\n\r\nx\r\n')).rejects.toMatchObject({ responseCode: 451 });
  });

  it('answers an IMAP login with NO [UNAVAILABLE], not as wrong credentials', async () => {
    const socket = await import('node:net').then((net) => net.connect({ host: '127.0.0.1', port: node.app.ports.imap as number }));
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => (received += chunk));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`a LOGIN ${USER} "${PASSWORD}"\r\n`);
    const deadline = Date.now() + 10_000;
    while (!/^a (OK|NO|BAD)/m.test(received) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    expect(received).toMatch(/^a NO \[UNAVAILABLE\]/m);
  });
});
