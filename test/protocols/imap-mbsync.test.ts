import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { MailboxManager } from '../../src/mailbox/api/mailbox-manager';
import { adminPut, startTestNode, type TestNode } from '../helpers/postflow';

const run = promisify(execFile);
const DOMAIN = 'mbsync.example';
const PASSWORD = 'sync secret';

function message(subject: string, body: string): Buffer {
  return Buffer.from(`From: bob@remote.example\r\nTo: user@${DOMAIN}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.example>\r\nDate: Mon, 04 Mar 2024 10:00:00 +0000\r\n\r\n${body}\r\n`);
}

/** Files of a Maildir folder (cur + new). */
function maildirCount(folder: string): number {
  return ['cur', 'new'].reduce((n, sub) => n + readdirSync(path.join(folder, sub)).length, 0);
}

/** Message files of the local Maildir tree (flags are part of the names), without mbsync's state files. */
function localSnapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (['cur', 'new'].includes(path.basename(folder))) out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

/** mbsync (isync, a real sync client) two-way against a node of each profile. */
describe.each(['embedded', 'distributed'] as const)('mbsync against the %s profile', (profile) => {
  let node: TestNode;
  let dir: string;
  const user = `sync-${profile}@${DOMAIN}`;

  beforeAll(async () => {
    node = await startTestNode(profile, { smtp: { submissionPort: 0, tlsPort: 0 } });
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${user}`, { password: PASSWORD })).status).toBe(204);
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-mbsync-'));
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function deliver(name: string, bytes: Buffer, flags: string[] = []): Promise<void> {
    const { blobs, mailboxes } = node.app.backends;
    const mailbox = await mailboxes.ensureMailbox(user, name);
    const stored = await blobs.put(MAIL_BUCKET, bytes);
    await mailboxes.appendMessage(mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date('2024-03-04T10:00:00Z'), flags });
  }

  async function mbsync(): Promise<string> {
    const { stdout, stderr } = await run('mbsync', ['-V', '-c', path.join(dir, 'mbsyncrc'), '-a'], { timeout: 60_000 });
    return stdout + stderr;
  }

  it('syncs a multi-folder account both ways, then finds nothing to do, then exactly a server-side change', async () => {
    await deliver('INBOX', message('Welcome', 'First'), ['\\Seen']);
    await deliver('INBOX', message('Agenda', 'Second'), ['\\Flagged']);
    await deliver('INBOX', message('Report', 'Third'));
    await deliver('Archive', message('Old', 'Archived'), ['\\Seen']);
    const local = path.join(dir, 'mail');
    for (const folder of ['INBOX', 'Notes']) for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(local, folder, sub), { recursive: true });
    writeFileSync(path.join(local, 'Notes', 'cur', '1700000000.1_1.host:2,S'), message('Local note', 'Written offline'));
    writeFileSync(path.join(local, 'INBOX', 'new', '1700000000.2_1.host'), message('Local draft', 'Not on the server yet'));
    writeFileSync(
      path.join(dir, 'mbsyncrc'),
      [
        'IMAPAccount postflow',
        'Host 127.0.0.1',
        `Port ${node.app.ports.imap}`,
        `User ${user}`,
        `Pass "${PASSWORD}"`,
        'SSLType None',
        'AuthMechs LOGIN',
        '',
        'IMAPStore remote',
        'Account postflow',
        '',
        'MaildirStore local',
        `Path ${local}/`,
        `Inbox ${local}/INBOX`,
        'SubFolders Verbatim',
        '',
        'Channel sync',
        'Far :remote:',
        'Near :local:',
        'Patterns *',
        'Create Both',
        'Expunge Both',
        'SyncState *',
        '',
      ].join('\n'),
    );

    const mailboxes = node.app.backends.mailboxes as MailboxManager;
    /** Every mailbox's counters: any change mbsync makes on the server moves UIDNEXT or HIGHESTMODSEQ. */
    const serverSnapshot = async (): Promise<string[]> =>
      (await mailboxes.listMailboxes(user)).map((m) => `${m.name} messages=${m.messageCount} uidnext=${m.uidNext} modseq=${m.highestModSeq}`);

    await mbsync();
    expect((await mailboxes.getMailbox(user, 'Notes'))?.messageCount).toBe(1);
    expect((await mailboxes.getMailbox(user, 'INBOX'))?.messageCount).toBe(4);
    expect(maildirCount(path.join(local, 'Archive'))).toBe(1);
    expect(maildirCount(path.join(local, 'INBOX'))).toBe(4);
    const reportFile = localSnapshot(local).find((file) => readFileSync(path.join(local, file), 'utf8').includes('Subject: Report'));
    expect(reportFile).toMatch(/INBOX\/(cur|new)\/.*(,|:2,)$/);
    const flaggedFile = localSnapshot(local).find((file) => readFileSync(path.join(local, file), 'utf8').includes('Subject: Agenda'));
    expect(flaggedFile).toMatch(/:2,F$/);

    const [serverBefore, localBefore] = [await serverSnapshot(), localSnapshot(local)];
    await mbsync();
    expect(await serverSnapshot()).toEqual(serverBefore);
    expect(localSnapshot(local)).toEqual(localBefore);

    const inbox = await mailboxes.getMailbox(user, 'INBOX');
    await mailboxes.updateFlags(user, inbox?.id as string, [{ from: 3, to: 3 }], { mode: 'add', flags: ['\\Seen'] });
    await deliver('INBOX', message('Late', 'Arrived after the sync'));
    const serverChanged = await serverSnapshot();
    await mbsync();
    expect(await serverSnapshot()).toEqual(serverChanged);
    const localAfter = localSnapshot(local);
    const added = localAfter.filter((file) => !localBefore.includes(file));
    const removed = localBefore.filter((file) => !localAfter.includes(file));
    // Exactly the server-side change: the new message, and the Report message renamed with its \Seen flag.
    expect(removed).toEqual([reportFile]);
    expect(added).toHaveLength(2);
    expect(added.some((file) => /:2,S$/.test(file) && readFileSync(path.join(local, file), 'utf8').includes('Subject: Report'))).toBe(true);
    expect(added.some((file) => readFileSync(path.join(local, file), 'utf8').includes('Subject: Late'))).toBe(true);
  });
});
