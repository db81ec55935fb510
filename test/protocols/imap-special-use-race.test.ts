import { adminPut, startTestNode, type TestNode } from '../helpers/postflow';
import { RawClient } from './imap/doubles';

const DOMAIN = 'roles.example';
const PASSWORD = 'correct horse';
const USER = `alice@${DOMAIN}`;
/** Sessions racing to CREATE a mailbox with one special use. */
const SESSIONS = 4;

/** CREATE-SPECIAL-USE (RFC 6154 §3) from concurrent sessions of one user, on a real node of each profile. */
describe.each(['embedded', 'distributed'] as const)('IMAP CREATE-SPECIAL-USE race on the %s profile', (profile) => {
  let node: TestNode;
  let port: number;
  const clients: RawClient[] = [];

  async function login(): Promise<RawClient> {
    const { client } = await RawClient.connect(port);
    clients.push(client);
    expect((await client.command('l1', `LOGIN ${USER} "${PASSWORD}"`)).at(-1)).toMatch(/^l1 OK/);
    return client;
  }

  /** The mailbox name at the end of a LIST response (quoted or an atom). */
  function listedName(line: string): string {
    const match = / (?:"((?:[^"\\]|\\.)*)"|([^ "]+))$/.exec(line);
    return match ? (match[1] ?? match[2]) : '';
  }

  /** The mailboxes LIST shows with `attribute`, by name. */
  async function holders(client: RawClient, attribute: string): Promise<string[]> {
    const lines = await client.command('h1', 'LIST "" "*" RETURN (SPECIAL-USE)');
    expect(lines.at(-1)).toBe('h1 OK LIST completed');
    return lines.filter((line) => line.startsWith('* LIST (') && line.split(')')[0].split(' ').includes(attribute)).map(listedName);
  }

  beforeAll(async () => {
    node = await startTestNode(profile, { smtp: { submissionPort: 0, tlsPort: 0 } });
    port = node.app.ports.imap as number;
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${USER}`, { password: PASSWORD })).status).toBe(204);
  }, 180_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await node?.stop();
  }, 60_000);

  it('gives a special use to exactly one of concurrent CREATEs; the others get NO [USEATTR] and leave no mailbox, parents included', async () => {
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => login()));
    // The provisioned Sent holds \Sent: free it first.
    expect(await sessions[0].command('d1', 'DELETE Sent')).toEqual(['d1 OK DELETE completed']);
    expect(await holders(sessions[0], '\\Sent')).toEqual([]);

    // All commands on the wire before any answer is read.
    sessions.forEach((client, i) => client.write(`c${i} CREATE "Box${i}.Sent" (USE (\\Sent))\r\n`));
    const answers = await Promise.all(sessions.map(async (client, i) => (await client.readUntilTagged(`c${i}`)).at(-1) as string));
    const winners = answers.flatMap((answer, i) => (/^c\d+ OK \[MAILBOXID \([A-Za-z0-9_-]+\)\] CREATE completed$/.test(answer) ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const [i, answer] of answers.entries()) {
      if (i !== winners[0]) expect(answer).toBe(`c${i} NO [USEATTR] Special use \\Sent is already held by another mailbox`);
    }

    const winner = `Box${winners[0]}.Sent`;
    expect(await holders(sessions[1], '\\Sent')).toEqual([winner]);
    const listed = await sessions[1].command('l2', 'LIST "" "Box*"');
    expect(listed.filter((line) => line.startsWith('* LIST')).map(listedName)).toEqual([`Box${winners[0]}`, winner]);
  });

  it('keeps the special use through RENAME and frees it with DELETE, so another mailbox can take it', async () => {
    const client = await login();
    const [holder] = await holders(client, '\\Sent');
    expect(holder).toMatch(/^Box\d\.Sent$/);
    expect(await client.command('r1', `RENAME "${holder}" "Sent Mail"`)).toEqual(['r1 OK RENAME completed']);
    expect(await holders(client, '\\Sent')).toEqual(['Sent Mail']);
    expect(await client.command('r2', 'CREATE Outbox (USE (\\Sent))')).toEqual(['r2 NO [USEATTR] Special use \\Sent is already held by another mailbox']);
    expect(await client.command('r3', 'DELETE "Sent Mail"')).toEqual(['r3 OK DELETE completed']);
    expect((await client.command('r4', 'CREATE Outbox (USE (\\Sent))')).at(-1)).toMatch(/^r4 OK /);
    expect(await holders(client, '\\Sent')).toEqual(['Outbox']);
  });
});
