import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api';
import { PermanentError, TemporaryError } from '../../src/core/errors';
import type { MailReference } from '../../src/core/mail';
import { JournaledMailHandOff, type HandOffOptions, type UnstartableMails } from '../../src/queue/journaled-mail-hand-off';
import type { MailQueue } from '../../src/queue/mail-queue';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteAcceptedMailJournal } from '../../src/storage/sqlite/sqlite-accepted-mail-journal';
import { eventually } from '../helpers/eventually';
import { MORE_RECIPIENTS_PREFIX, RECIPIENTS_ATTRIBUTE, SEARCH_ATTRIBUTE_VALUE_LIMIT } from '../../workflows/lib/search-attributes';
import { testMailReference } from '../helpers/mail-reference';
import { adminPut, mailWorkflow, sendMail, startTestNode, type TestNode } from '../helpers/postflow';

const logger = pino({ level: 'silent' });
const DOMAIN = 'handoff.test';

function mail(mailId: string, recipient = `ann@${DOMAIN}`, blobId = 'f'.repeat(64)): MailReference {
  return testMailReference({ mailId, sender: `sender@${DOMAIN}`, recipients: [recipient], messageBlobId: blobId });
}

/** A starting queue whose answers the test decides: each start waits for `release` or fails while `failing`. */
class ScriptedQueue implements MailQueue {
  readonly calls: string[] = [];
  failing = false;
  refusing = false;
  held = false;
  private readonly releases: Array<() => void> = [];

  async enqueue(m: MailReference): Promise<void> {
    this.calls.push(m.mailId);
    if (this.failing) throw new TemporaryError('Temporal unreachable (scripted)');
    if (this.refusing) throw new PermanentError('value above the limit (scripted)');
    if (this.held) await new Promise<void>((resolve) => this.releases.push(resolve));
  }

  release(): void {
    this.held = false;
    for (const resolve of this.releases.splice(0)) resolve();
  }
}

/** The error repository as the hand-off sees it: what it kept, or a failure while `broken`. */
class KeptMails implements UnstartableMails {
  readonly kept: Array<{ mailId: string; reason: string }> = [];
  broken = false;

  async keep(m: MailReference, reason: string): Promise<void> {
    if (this.broken) throw new Error('repository unavailable (scripted)');
    this.kept.push({ mailId: m.mailId, reason });
  }
}

describe('JournaledMailHandOff with the SQLite journal', () => {
  let dir: string;
  let db: Database.Database;
  let journal: SqliteAcceptedMailJournal;
  let queue: ScriptedQueue;
  let unstartable: KeptMails;
  const fast: HandOffOptions = { maxBacklog: 100, maxConcurrentStarts: 4, retryDelaysMs: [20, 40] };
  const rows = (): string[] => db.prepare('SELECT mail_id FROM accepted_mails ORDER BY seq').pluck().all() as string[];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-handoff-'));
    db = new Database(path.join(dir, 'postflow.db'));
    migrate(db);
    journal = new SqliteAcceptedMailJournal(db);
    queue = new ScriptedQueue();
    unstartable = new KeptMails();
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves once the mail is a durable row, before its start, and removes the row once started', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, fast);
    queue.held = true;
    await handOff.enqueue(mail('m1'));
    // Durable: another connection sees the row while the start is still held.
    const other = new Database(path.join(dir, 'postflow.db'), { readonly: true });
    try {
      expect(other.prepare('SELECT reference FROM accepted_mails').pluck().all().map((r) => (JSON.parse(r as string) as MailReference).mailId)).toEqual(['m1']);
    } finally {
      other.close();
    }
    expect(handOff.pending).toBe(1);
    queue.release();
    await eventually(() => rows().length === 0, 'the row removed');
    expect(handOff.pending).toBe(0);
    expect(handOff.started).toBe(1);
    expect(queue.calls).toEqual(['m1']);
  });

  it('keeps a mail journaled while its start fails, retries it with back-off, and starts it once the queue answers', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, fast);
    queue.failing = true;
    await handOff.enqueue(mail('m2'));
    await eventually(() => queue.calls.length >= 3, 'three attempts');
    expect(rows()).toEqual(['m2']);
    expect(handOff.pending).toBe(1);
    queue.failing = false;
    await eventually(() => rows().length === 0, 'the row removed after a successful start');
    expect(handOff.started).toBe(1);
    await handOff.close();
  });

  it('refuses a mail (TemporaryError, nothing journaled) once maxBacklog mails wait for their start', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, { ...fast, maxBacklog: 2 });
    queue.held = true;
    await handOff.enqueue(mail('a'));
    await handOff.enqueue(mail('b'));
    await expect(handOff.enqueue(mail('c'))).rejects.toBeInstanceOf(TemporaryError);
    expect(rows()).toEqual(['a', 'b']);
    queue.release();
    await eventually(() => rows().length === 0, 'the backlog started');
    await expect(handOff.enqueue(mail('c'))).resolves.toBeUndefined();
    await handOff.close();
  });

  it('fails the hand-over, and starts nothing, when the journal cannot write the mail', async () => {
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON accepted_mails BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END`);
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, fast);
    // The error's text, not toThrow: in a multi-file jest run a SqliteError can come from another realm.
    const refused = await handOff.enqueue(mail('m3')).then(() => null, (err: unknown) => err);
    expect(String(refused)).toMatch(/simulated disk failure/);
    await new Promise((r) => setTimeout(r, 50));
    expect(queue.calls).toEqual([]);
    expect(handOff.pending).toBe(0);
  });

  it('starts, in acceptance order, the mails a previous run journaled and did not start', async () => {
    for (const id of ['r1', 'r2', 'r3']) await journal.add(mail(id));
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, { ...fast, maxConcurrentStarts: 1 });
    expect(await handOff.recover()).toBe(3);
    await eventually(() => rows().length === 0, 'the recovered mails started');
    expect(queue.calls).toEqual(['r1', 'r2', 'r3']);
  });

  it('refuses mails once closed and leaves the unstarted ones journaled for the next run', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, fast);
    queue.failing = true;
    await handOff.enqueue(mail('left'));
    await eventually(() => queue.calls.length >= 1, 'a first attempt');
    await handOff.close(1_000);
    await expect(handOff.enqueue(mail('late'))).rejects.toBeInstanceOf(TemporaryError);
    const calls = queue.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(queue.calls.length).toBe(calls);
    expect(rows()).toEqual(['left']);
  });

  it('moves a mail whose start is refused for good to the error repository, removes its row and does not retry it', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, fast);
    queue.refusing = true;
    await handOff.enqueue(mail('refused'));
    await eventually(() => rows().length === 0, 'the row removed');
    expect(unstartable.kept).toEqual([{ mailId: 'refused', reason: expect.stringContaining('value above the limit') }]);
    expect(handOff.unstartableMails).toBe(1);
    expect(handOff.started).toBe(0);
    expect(handOff.pending).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(queue.calls).toEqual(['refused']);
    await handOff.close();
  });

  it('keeps a refused mail journaled, and tries again, while the error repository cannot take it', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, fast);
    queue.refusing = true;
    unstartable.broken = true;
    await handOff.enqueue(mail('stuck'));
    await eventually(() => queue.calls.length >= 2, 'a second attempt');
    expect(rows()).toEqual(['stuck']);
    expect(unstartable.kept).toEqual([]);
    unstartable.broken = false;
    await eventually(() => rows().length === 0, 'kept once the repository answers');
    expect(unstartable.kept.map((k) => k.mailId)).toEqual(['stuck']);
    await handOff.close();
  });

  it('never lets concurrent hand-overs overshoot maxBacklog', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, { ...fast, maxBacklog: 3 });
    queue.held = true;
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => handOff.enqueue(mail(`c${i}`))));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof TemporaryError)).toBe(true);
    expect(rows()).toHaveLength(3);
    expect(handOff.pending).toBe(3);
    queue.release();
    await eventually(() => rows().length === 0, 'the backlog started');
    await handOff.close();
  });

  it('waits on close for a start in flight, and removes its row once it succeeds', async () => {
    const handOff = new JournaledMailHandOff(journal, queue, unstartable, logger, fast);
    queue.held = true;
    await handOff.enqueue(mail('in-flight'));
    await eventually(() => queue.calls.length === 1, 'the start in flight');
    const closing = handOff.close(5_000);
    setTimeout(() => queue.release(), 50);
    await closing;
    expect(rows()).toEqual([]);
    expect(handOff.started).toBe(1);
  });
});

describe('the journal hand-off on an embedded node (real Temporal)', () => {
  let node: TestNode;
  const ann = `ann@${DOMAIN}`;
  const inboxCount = async (): Promise<number> => (await node.app.backends.mailboxes.getMailbox(ann, 'INBOX'))?.messageCount ?? 0;

  beforeAll(async () => {
    node = await startTestNode('embedded');
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${ann}`, { password: 'pw' })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  it('is the default: SMTP answers once the mail is journaled, the workflow delivers it, the journal empties', async () => {
    expect(node.config.smtp.handOff).toBe('journal');
    const handOff = node.app.handOff;
    expect(handOff).toBeDefined();
    const started = handOff!.started;
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: `sender@${DOMAIN}`, to: [ann] }, 'Subject: journaled\r\n\r\nhello\r\n');
    await (await mailWorkflow(node.app.client, mailId)).result();
    expect(await inboxCount()).toBe(1);
    await handOff!.drained();
    expect(handOff!.started).toBe(started + 1);
    expect(await node.app.backends.acceptedMails!.list()).toEqual([]);
  }, 60_000);

  it('does not deliver a mail twice when a journaled mail whose workflow already closed is recovered (a crash after the start)', async () => {
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: `sender@${DOMAIN}`, to: [ann] }, 'Subject: once\r\n\r\nonly once\r\n');
    const handle = await mailWorkflow(node.app.client, mailId);
    await handle.result();
    const firstRun = (await handle.describe()).runId;
    const delivered = await inboxCount();
    const { blobId } = await node.app.backends.blobs.put(MAIL_BUCKET, Buffer.from('Subject: once\r\n\r\nonly once\r\n'));
    // As if the process had died between the start and the removal of the row.
    await node.app.backends.acceptedMails!.add(mail(mailId, ann, blobId));
    expect(await node.app.handOff!.recover()).toBe(1);
    await eventually(async () => (await node.app.backends.acceptedMails!.list()).length === 0, 'the recovered row removed');
    await new Promise((r) => setTimeout(r, 500));
    // No second run of the mail's workflow (the latest run is still the first), and no second copy.
    expect((await handle.describe()).runId).toBe(firstRun);
    expect(await inboxCount()).toBe(delivered);
  }, 60_000);

  it('starts a mail with 100 long recipients: the queue\'s recipients attribute lists those that fit and how many more', async () => {
    const recipients = Array.from({ length: 100 }, (_, i) => `recipient-number-${i}@a-rather-long-remote-domain.example`);
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: `sender@${DOMAIN}`, to: recipients }, 'Subject: many\r\n\r\nto many\r\n');
    const handle = await mailWorkflow(node.app.client, mailId);
    const description = await handle.describe();
    const listed = description.typedSearchAttributes.get(RECIPIENTS_ATTRIBUTE) ?? [];
    expect(Buffer.byteLength(JSON.stringify(listed))).toBeLessThanOrEqual(SEARCH_ATTRIBUTE_VALUE_LIMIT);
    const shown = listed.slice(0, -1);
    expect(recipients.slice(0, shown.length)).toEqual(shown);
    expect(listed.at(-1)).toBe(`${MORE_RECIPIENTS_PREFIX}${100 - shown.length} more`);
    // The workflow itself carries every recipient and runs to its end.
    await handle.result();
    expect(node.app.handOff!.unstartableMails).toBe(0);
  }, 60_000);
});

describe('a node restarted with smtp.handOff: start', () => {
  it('still starts the mails the previous run journaled', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'postflow-handoff-switch-'));
    try {
      const first = await startTestNode('embedded', { dataDir });
      let mailId: string;
      try {
        expect((await adminPut(first.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
        expect((await adminPut(first.webadmin, `/users/bea@${DOMAIN}`, { password: 'pw' })).status).toBe(204);
        const { blobId } = await first.app.backends.blobs.put(MAIL_BUCKET, Buffer.from('Subject: left over\r\n\r\njournaled, not started\r\n'));
        // As if the node had stopped right after the 250: the row is there, no workflow yet.
        const left = mail(randomUUID(), `bea@${DOMAIN}`, blobId);
        mailId = left.mailId;
        await first.app.backends.acceptedMails!.add(left);
      } finally {
        await first.stop();
      }
      const second = await startTestNode('embedded', { dataDir, smtp: { handOff: 'start' } });
      try {
        expect(second.app.handOff).toBeUndefined();
        await (await mailWorkflow(second.app.client, mailId)).result();
        expect((await second.app.backends.mailboxes.getMailbox(`bea@${DOMAIN}`, 'INBOX'))?.messageCount).toBe(1);
        await eventually(async () => (await second.app.backends.acceptedMails!.list()).length === 0, 'the journal emptied');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
