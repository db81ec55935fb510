import { startNodeWithUsers, type TestNode } from '../helpers/postflow';
import { RawClient } from './imap/doubles';

const DOMAIN = 'rev2-rights.example';
const PASSWORD = 'correct horse';
const OWNER = `owner@${DOMAIN}`;
const WRITER = `writer@${DOMAIN}`;
/** The owner's mailboxes as the other user sees them (RFC 2342 other users' namespace, `.` of the owner as `^`). */
const DROPBOX = `#user.owner@rev2-rights^example.Dropbox`;
const PROJECTS = `#user.owner@rev2-rights^example.Projects`;

/**
 * RFC 9051 rules that depend on RFC 4314 rights, on a real node of each profile: no APPENDUID /
 * COPYUID for a mailbox the user may insert into but not read (§6.3.12, §6.4.7, §6.4.8), LIST
 * RETURN (STATUS) answering `\Noselect` and no STATUS for it (§6.3.9.2), and the LIST response
 * of SELECT for another user's mailbox (§6.3.2).
 */
describe.each(['embedded', 'distributed'] as const)('IMAP4rev2 rules on rights on the %s profile', (profile) => {
  let node: TestNode;
  let port: number;
  const clients: RawClient[] = [];

  async function login(user: string): Promise<RawClient> {
    const client = await RawClient.login(port, user, PASSWORD);
    clients.push(client);
    return client;
  }

  async function append(client: RawClient, tag: string, mailbox: string, subject: string): Promise<string[]> {
    const bytes = `Subject: ${subject}\r\n\r\nx\r\n`;
    client.write(`${tag} APPEND "${mailbox}" {${Buffer.byteLength(bytes)}+}\r\n${bytes}\r\n`);
    return client.readUntilTagged(tag);
  }

  async function ownerCount(mailbox: string): Promise<string[]> {
    const owner = await login(OWNER);
    return owner.command('s1', `STATUS ${mailbox} (MESSAGES)`);
  }

  beforeAll(async () => {
    node = await startNodeWithUsers(profile, DOMAIN, [OWNER, WRITER], PASSWORD);
    port = node.app.ports.imap as number;
    const owner = await login(OWNER);
    for (const name of ['Dropbox', 'Projects']) expect((await owner.command('o1', `CREATE ${name}`)).at(-1)).toMatch(/^o1 OK/);
    expect((await append(owner, 'o2', 'Projects', 'Roadmap')).at(-1)).toMatch(/^o2 OK \[APPENDUID \d+ 1\]/);
    // lookup + insert only: the writer can drop messages into Dropbox but not read it.
    expect(await owner.command('o3', `SETACL Dropbox ${WRITER} li`)).toEqual(['o3 OK SETACL completed']);
    expect(await owner.command('o4', `SETACL Projects ${WRITER} lr`)).toEqual(['o4 OK SETACL completed']);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await node?.stop();
  });

  it('appends to a mailbox the user cannot read without an APPENDUID, and still stores the message', async () => {
    const writer = await login(WRITER);
    expect(await append(writer, 'a1', DROPBOX, 'Dropped')).toEqual(['a1 OK APPEND completed']);
    expect(await ownerCount('Dropbox')).toEqual(['* STATUS "Dropbox" (MESSAGES 1)', 's1 OK STATUS completed']);
    // A readable target keeps its APPENDUID.
    expect((await append(writer, 'a2', 'INBOX', 'Mine')).at(-1)).toMatch(/^a2 OK \[APPENDUID \d+ 1\] APPEND completed$/);
  });

  it('copies and moves into a mailbox the user cannot read without COPYUID, tagged or untagged', async () => {
    const writer = await login(WRITER);
    for (const subject of ['c1', 'c2']) expect((await append(writer, 'p1', 'Drafts', subject)).at(-1)).toMatch(/^p1 OK/);
    expect((await writer.command('b0', 'SELECT Drafts')).at(-1)).toBe('b0 OK [READ-WRITE] SELECT completed');
    expect(await writer.command('b1', `COPY 1 "${DROPBOX}"`)).toEqual(['b1 OK COPY completed']);
    expect(await writer.command('b2', `MOVE 2 "${DROPBOX}"`)).toEqual(['* 2 EXPUNGE', 'b2 OK MOVE completed']);
    // Into a readable mailbox (its own), COPY and MOVE report the UIDs.
    expect((await writer.command('b3', 'COPY 1 INBOX')).at(-1)).toMatch(/^b3 OK \[COPYUID \d+ \d+ \d+\] COPY completed$/);
    // A target it may not insert into (`lr`) is refused, and nothing leaves the source.
    expect((await writer.command('b4', `MOVE 1 "${PROJECTS}"`)).at(-1)).toMatch(/^b4 NO \[NOPERM\]/);
    expect(await writer.command('b5', 'MOVE 1 Trash')).toEqual([expect.stringMatching(/^\* OK \[COPYUID \d+ 1 \d+\] Moved$/), '* 1 EXPUNGE', 'b5 OK MOVE completed']);
    expect(await ownerCount('Dropbox')).toEqual(['* STATUS "Dropbox" (MESSAGES 3)', 's1 OK STATUS completed']);
  });

  it('lists an unreadable mailbox \\Noselect without STATUS under LIST RETURN (STATUS), a readable one with it', async () => {
    const writer = await login(WRITER);
    const listed = await writer.command('c1', 'LIST "" "#user.*" RETURN (STATUS (MESSAGES))');
    expect(listed).toContain(`* LIST (\\Noselect \\HasNoChildren) "." "${DROPBOX}"`);
    expect(listed.join('\n')).not.toContain(`* STATUS "${DROPBOX}"`);
    const projects = listed.indexOf(`* LIST (\\HasNoChildren) "." "${PROJECTS}"`);
    expect(projects).toBeGreaterThan(-1);
    expect(listed[projects + 1]).toBe(`* STATUS "${PROJECTS}" (MESSAGES 1)`);
    expect(listed.at(-1)).toBe('c1 OK LIST completed');
    // Without STATUS the name is listed as usual (it can be appended to).
    expect(await writer.command('c2', `LIST "" "${DROPBOX}"`)).toEqual([`* LIST (\\HasNoChildren) "." "${DROPBOX}"`, 'c2 OK LIST completed']);
    // STATUS on it is refused, as RFC 4314 §4 requires `r`.
    expect((await writer.command('c3', `STATUS "${DROPBOX}" (MESSAGES)`)).at(-1)).toMatch(/^c3 NO \[NOPERM\]/);
  });

  it('keeps the CAPABILITY list as it was after ENABLE IMAP4rev2 (RFC 9051 §6.3.1)', async () => {
    const writer = await login(WRITER);
    const before = await writer.command('e1', 'CAPABILITY');
    expect(before[0]).toMatch(/^\* CAPABILITY IMAP4rev1 IMAP4rev2 /);
    expect(await writer.command('e2', 'ENABLE IMAP4rev2 CONDSTORE')).toEqual(['* ENABLED IMAP4rev2 CONDSTORE', 'e2 OK ENABLE completed']);
    expect(await writer.command('e3', 'CAPABILITY')).toEqual([before[0], 'e3 OK CAPABILITY completed']);
  });

  it('answers SELECT of another user\'s mailbox in IMAP4rev2 with a LIST response under the shared name', async () => {
    const writer = await login(WRITER);
    expect(await writer.command('d1', 'ENABLE IMAP4rev2')).toEqual(['* ENABLED IMAP4rev2', 'd1 OK ENABLE completed']);
    const selected = await writer.command('d2', `EXAMINE "${PROJECTS}"`);
    expect(selected[0]).toBe(`* LIST (\\HasNoChildren) "." "${PROJECTS}"`);
    expect(selected).not.toContain('* 0 RECENT');
    expect(selected.at(-1)).toBe('d2 OK [READ-ONLY] EXAMINE completed');
    // Without `r` it cannot be selected at all: no LIST, NOPERM.
    expect(await writer.command('d3', `SELECT "${DROPBOX}"`)).toEqual(['* OK [CLOSED] Previous mailbox closed', expect.stringMatching(/^d3 NO \[NOPERM\]/)]);
  });
});
