import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { TemporaryError } from '../../src/core/errors';
import { SpamLearningListener, spamdTell } from '../../src/mailbox/listeners/spam-learning';
import type { Backends } from '../../src/storage/backends';
import { createEmbeddedBackends } from '../../src/storage/embedded';
import { freePort } from '../helpers/ports';
import { startSpamd, type TestSpamd } from '../helpers/spamd';

const USER = 'junk@spam.example';

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Spam learning against a real spamd (SpamAssassin, Debian packages `spamassassin spamd`), started
 * by the test on its own port with its own site configuration and Bayes database in a temp dir.
 */
describe('spam learning with a real spamd', () => {
  let spamd: TestSpamd;
  let port: number;
  let dir: string;
  let backends: Backends;

  /** Bayes counters of the test's database, read with sa-learn. */
  function bayes(): { nspam: number; nham: number } {
    if (!existsSync(path.join(dir, 'bayes_toks'))) return { nspam: 0, nham: 0 };
    const dump = execFileSync('sa-learn', ['--siteconfigpath', dir, '--dbpath', path.join(dir, 'bayes'), '--dump', 'magic'], { encoding: 'utf8' });
    const value = (name: string) => Number(new RegExp(`\\s(\\d+)\\s+\\d+\\s+non-token data: ${name}`).exec(dump)?.[1] ?? 0);
    return { nspam: value('nspam'), nham: value('nham') };
  }

  beforeAll(async () => {
    spamd = await startSpamd();
    ({ port, dir } = spamd);
    backends = await createEmbeddedBackends({ dataDir: path.join(dir, 'data'), logger: pino({ level: 'silent' }) });
    await backends.events.registerGroupListener(new SpamLearningListener(backends.mailboxes, backends.blobs, { host: '127.0.0.1', port }, pino({ level: 'silent' })));
    await backends.mailboxes.provisionUser(USER);
  }, 90_000);

  afterAll(async () => {
    await backends?.close();
    await spamd?.stop();
  }, 30_000);

  async function deliver(mailbox: string, subject: string): Promise<number> {
    const box = await backends.mailboxes.ensureMailbox(USER, mailbox);
    const stored = await backends.blobs.put(MAIL_BUCKET, Buffer.from(`From: seller@remote.example\r\nTo: ${USER}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.example>\r\n\r\n${subject} body text with several words\r\n`));
    return (await backends.mailboxes.append(USER, box.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() })).uid;
  }

  async function move(from: string, uid: number, to: string): Promise<void> {
    const source = await backends.mailboxes.ensureMailbox(USER, from);
    const target = await backends.mailboxes.ensureMailbox(USER, to);
    await backends.mailboxes.moveMessages(USER, source.id, [{ from: uid, to: uid }], target.id);
  }

  it('teaches spam on a move into Junk, ham on a move out of it, nothing on a move to Trash or between other mailboxes', async () => {
    expect(bayes()).toEqual({ nspam: 0, nham: 0 });
    await move('INBOX', await deliver('INBOX', 'Cheap pills now'), 'Junk');
    await eventually(() => bayes().nspam === 1, 'spamd to learn one spam');

    await move('Junk', await deliver('Junk', 'Meeting agenda for monday'), 'INBOX');
    await eventually(() => bayes().nham === 1, 'spamd to learn one ham');

    await move('Junk', await deliver('Junk', 'Deleted junk'), 'Trash');
    await move('INBOX', await deliver('INBOX', 'Archived normal mail'), 'Archive');
    // A marker learned after those moves: once it is counted, the moves before it were handled.
    await move('INBOX', await deliver('INBOX', 'Marker spam offer'), 'Junk');
    await eventually(() => bayes().nspam === 2, 'the marker spam');
    expect(bayes()).toEqual({ nspam: 2, nham: 1 });
  }, 90_000);

  it('reports an unreachable spamd as a temporary failure (the event is retried)', async () => {
    const closed = await freePort();
    await expect(spamdTell('127.0.0.1', closed, 'spam', Buffer.from('Subject: x\r\n\r\ny\r\n'))).rejects.toBeInstanceOf(TemporaryError);
  });

  it('answers EX_OK for a TELL of a message spamd knows already', async () => {
    const message = Buffer.from('Subject: twice\r\nMessage-ID: <twice@remote.example>\r\n\r\nsame words twice\r\n');
    expect(await spamdTell('127.0.0.1', port, 'ham', message)).toMatch(/^SPAMD\/\d\.\d+ 0 EX_OK/);
    expect(await spamdTell('127.0.0.1', port, 'ham', message)).toMatch(/^SPAMD\/\d\.\d+ 0 EX_OK/);
  });
});
