import { startNodeWithUsers, type TestNode } from '../helpers/postflow';
import { RawClient } from './imap/doubles';

const DOMAIN = 'shared.example';
const PASSWORD = 'correct horse';
const OWNER = `owner@${DOMAIN}`;
const READER = `reader@${DOMAIN}`;
const OUTSIDER = `outsider@${DOMAIN}`;
/** The owner's `Projects` as other users see it: the owner's dots written `^`. */
const SHARED = '#user.owner@shared^example.Projects';

/** The other users' namespace (RFC 2342) over RFC 4314 ACLs, on a real node of each profile. */
describe.each(['embedded', 'distributed'] as const)('IMAP other users\' namespace on the %s profile', (profile) => {
  let node: TestNode;
  let port: number;
  const clients: RawClient[] = [];

  async function login(user: string): Promise<RawClient> {
    const client = await RawClient.login(port, user, PASSWORD);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    node = await startNodeWithUsers(profile, DOMAIN, [OWNER, READER, OUTSIDER], PASSWORD);
    port = node.app.ports.imap as number;
    const owner = await login(OWNER);
    expect(await owner.command('o1', 'CREATE Projects')).toEqual([expect.stringMatching(/^o1 OK \[MAILBOXID \([A-Za-z0-9_-]+\)\] CREATE completed$/)]);
    expect(await owner.command('o2', 'CREATE Private')).toEqual([expect.stringMatching(/^o2 OK \[MAILBOXID \([A-Za-z0-9_-]+\)\] CREATE completed$/)]);
    owner.write(`o3 APPEND Projects {41+}\r\nSubject: Roadmap\r\nFrom: o@x.example\r\n\r\nQ3\r\n`);
    expect((await owner.readUntilTagged('o3')).at(-1)).toMatch(/^o3 OK \[APPENDUID \d+ 1\]/);
    expect(await owner.command('o4', `SETACL Projects ${READER} lr`)).toEqual(['o4 OK SETACL completed']);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await node?.stop();
  });

  it('announces the other users\' namespace', async () => {
    const reader = await login(READER);
    expect(await reader.command('a1', 'NAMESPACE')).toEqual(['* NAMESPACE (("" ".")) (("#user." ".")) NIL', 'a1 OK NAMESPACE completed']);
  });

  it('lists a mailbox shared with the user under #user, and not the owner\'s other mailboxes', async () => {
    const reader = await login(READER);
    const listed = await reader.command('a1', 'LIST "" "*"');
    expect(listed).toContain(`* LIST (\\HasNoChildren) "." "${SHARED}"`);
    expect(listed).toContain('* LIST (\\Noselect \\HasChildren) "." "#user"');
    expect(listed.join('\n')).not.toContain('Private');
    expect(listed.at(-1)).toBe('a1 OK LIST completed');
    const outsider = await login(OUTSIDER);
    expect((await outsider.command('b1', 'LIST "" "*"')).join('\n')).not.toContain('#user');
  });

  it('selects, reads and reports a shared mailbox read-only with lr rights; writing is refused', async () => {
    const reader = await login(READER);
    const selected = await reader.command('a1', `SELECT "${SHARED}"`);
    expect(selected).toContain('* 1 EXISTS');
    expect(selected.at(-1)).toBe('a1 OK [READ-ONLY] SELECT completed');
    expect(await reader.command('a2', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])')).toEqual(['* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {20}', 'Subject: Roadmap', '', ')', 'a2 OK FETCH completed']);
    expect(await reader.command('a3', `STATUS "${SHARED}" (MESSAGES)`)).toEqual([`* STATUS "${SHARED}" (MESSAGES 1)`, 'a3 OK STATUS completed']);
    expect(await reader.command('a4', `MYRIGHTS "${SHARED}"`)).toEqual([`* MYRIGHTS "${SHARED}" "lr"`, 'a4 OK MYRIGHTS completed']);
    reader.write(`a5 APPEND "${SHARED}" {12+}\r\nSubject: x\r\n\r\n`);
    expect((await reader.readUntilTagged('a5')).at(-1)).toMatch(/^a5 NO \[NOPERM\]/);
    expect((await reader.command('a6', `DELETE "${SHARED}"`)).at(-1)).toMatch(/^a6 NO \[NOPERM\]/);
    // RFC 5464: /shared/ entries need the `n` right; reading entries needs `r`.
    expect((await reader.command('a7', `SETMETADATA "${SHARED}" (/shared/comment "mine now")`)).at(-1)).toMatch(/^a7 NO \[NOPERM\]/);
    expect(await reader.command('a8', `GETMETADATA "${SHARED}" /shared/comment`)).toEqual([`* METADATA "${SHARED}" (/shared/comment NIL)`, 'a8 OK GETMETADATA completed']);
    expect(await reader.command('a9', 'THREAD REFERENCES UTF-8 ALL')).toEqual(['* THREAD (1)', 'a9 OK THREAD completed']);
  });

  it('answers NONEXISTENT for a mailbox not shared with the user, and for malformed shared names', async () => {
    const outsider = await login(OUTSIDER);
    expect((await outsider.command('a1', `SELECT "${SHARED}"`)).at(-1)).toMatch(/^a1 NO \[NONEXISTENT\]/);
    expect((await outsider.command('a2', `STATUS "#user.owner@shared^example.Private" (MESSAGES)`)).at(-1)).toMatch(/^a2 NO \[NONEXISTENT\]/);
    expect((await outsider.command('a3', 'SELECT "#user."')).at(-1)).toMatch(/^a3 NO \[NONEXISTENT\]/);
    expect((await outsider.command('a4', 'SELECT "#user.nobody@nowhere^example"')).at(-1)).toMatch(/^a4 NO \[NONEXISTENT\]/);
  });
});
