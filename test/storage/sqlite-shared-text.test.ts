import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { ALL_UIDS } from '../../src/mailbox/api/mailbox-store';
import type { AppendInput } from '../../src/mailbox/api/mailbox-mapper';
import type { MessageSummary } from '../../src/mime/parsed-message';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { mailboxFixture, rfc822, type MailboxFixture } from '../contracts/mailbox-store.contract';

/**
 * The search text and the summary of the copies LocalDelivery makes of one mail (one per
 * recipient, one shared blob) are stored once per blob (mailbox schema 6 and 7), and every copy
 * still reads its own.
 */
describe('SQLite mailbox store: search text shared by blob', () => {
  let dir: string;
  let db: Database.Database;
  let f: MailboxFixture;
  const body = `${'A searchable line of the body, long enough to be shared. '.repeat(20)}\r\n`;
  const users = ['a@example.com', 'b@example.com', 'c@example.com'];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-shared-text-'));
    db = new Database(path.join(dir, 'postflow.db'));
    migrate(db);
    f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(db), cleanup: async () => { db.close(); } }));
  });

  afterEach(async () => {
    await f?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const count = (sql: string): number => db.prepare(sql).pluck().get() as number;

  async function deliverToAll(message: Buffer): Promise<{ boxId: string; messageId: string; user: string }[]> {
    const stored = await f.blobs.put(MAIL_BUCKET, message);
    const out: { boxId: string; messageId: string; user: string }[] = [];
    for (const user of users) {
      const box = await f.manager.ensureMailbox(user, 'INBOX');
      const record = await f.manager.appendMessage(box.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date(), headerPrefix: Buffer.from(`Delivered-To: ${user}\r\n`) });
      out.push({ boxId: box.id, messageId: record.messageId, user });
    }
    return out;
  }

  async function expungeAll(user: string, boxId: string): Promise<void> {
    await f.manager.updateFlags(user, boxId, [ALL_UIDS], { mode: 'add', flags: ['\\Deleted'] });
    await f.manager.expunge(user, boxId);
  }

  it('writes the text of a mail delivered to three recipients once and reads it for each copy', async () => {
    const copies = await deliverToAll(rfc822(1, {}, body));
    expect(count('SELECT count(*) FROM blob_text')).toBe(1);
    expect(count("SELECT count(*) FROM message_content WHERE text = '' AND text_blob_id IS NOT NULL")).toBe(3);
    for (const copy of copies) {
      const text = await f.manager.getSearchText(copy.user, copy.messageId);
      expect(text).toContain('A searchable line of the body');
      expect(text!.length).toBeGreaterThan(1000);
    }
  });

  it('keeps the shared text while a copy is left and drops it with the last copy', async () => {
    const copies = await deliverToAll(rfc822(1, {}, body));
    for (const [i, copy] of copies.entries()) {
      await expungeAll(copy.user, copy.boxId);
      const left = copies.slice(i + 1);
      expect(count('SELECT count(*) FROM blob_text')).toBe(left.length > 0 ? 1 : 0);
      for (const other of left) expect(await f.manager.getSearchText(other.user, other.messageId)).toContain('A searchable line');
    }
    expect(count('SELECT count(*) FROM message_content')).toBe(0);
  });

  it('drops the shared text when the mailboxes holding the copies are deleted', async () => {
    const copies = await deliverToAll(rfc822(1, {}, body));
    for (const copy of copies) await f.mapper.deleteMailbox(copy.boxId, copy.user, 'INBOX');
    expect(count('SELECT count(*) FROM blob_text')).toBe(0);
  });

  it('keeps a short text in the content row', async () => {
    const copies = await deliverToAll(rfc822(1, {}, 'short body\r\n'));
    expect(count('SELECT count(*) FROM blob_text')).toBe(0);
    expect(await f.manager.getSearchText(copies[2].user, copies[2].messageId)).toContain('short body');
  });

  function input(blobId: string, text: string, n: number, summary: object = { size: 10 }): AppendInput {
    return {
      messageId: `m-${n}`,
      threadId: `t-${n}`,
      blobId,
      size: 10,
      internalDate: new Date(),
      savedDate: new Date(),
      flags: [],
      content: { headers: Buffer.from('Subject: x\r\n\r\n'), summary: summary as unknown as MessageSummary, text },
      thread: { owner: 'a@example.com', mimeMessageIds: [], baseSubject: 'x' },
    };
  }

  it('keeps its own text for a copy whose text differs from the text stored for its blob', async () => {
    const box = await f.manager.ensureMailbox('a@example.com', 'INBOX');
    const first = 'first text '.repeat(40);
    const second = 'second text '.repeat(40);
    await f.mapper.append(box.id, input('blob-1', first, 1));
    await f.mapper.append(box.id, input('blob-1', second, 2));
    const contents = await f.mapper.getContents(['m-1', 'm-2'], true);
    expect(contents.get('m-1')?.text).toBe(first);
    expect(contents.get('m-2')?.text).toBe(second);
    expect(count('SELECT count(*) FROM blob_text')).toBe(1);
    expect((await f.mapper.getContents(['m-1'], false)).get('m-1')?.text).toBe('');
  });

  it('stores the text again when the append that first wrote it was rolled back', async () => {
    const failing = await f.manager.ensureMailbox('a@example.com', 'INBOX');
    const ok = await f.manager.ensureMailbox('b@example.com', 'INBOX');
    db.exec(`CREATE TRIGGER fail_append BEFORE INSERT ON messages WHEN NEW.mailbox_id = '${failing.id}' BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    const text = 'a text worth sharing '.repeat(30);
    const results = await Promise.allSettled([f.mapper.append(failing.id, input('blob-2', text, 1)), f.mapper.append(ok.id, input('blob-2', text, 2))]);
    expect(results[0].status).toBe('rejected');
    expect(results[1].status).toBe('fulfilled');
    expect(count("SELECT count(*) FROM message_content WHERE message_id = 'm-1'")).toBe(0);
    expect((await f.mapper.getContents(['m-2'], true)).get('m-2')?.text).toBe(text);
    await f.mapper.append(ok.id, input('blob-2', text, 3));
    expect((await f.mapper.getContents(['m-3'], true)).get('m-3')?.text).toBe(text);
  });

  it('writes the summary of a mail delivered to three recipients once and gives each copy its summary, in listings too', async () => {
    const copies = await deliverToAll(rfc822(1, { Subject: 'Quarterly figures' }, body));
    expect(count('SELECT count(*) FROM blob_summary')).toBe(1);
    expect(count("SELECT count(*) FROM message_content WHERE summary = ''")).toBe(3);
    const contents = await f.mapper.getContents(copies.map((c) => c.messageId), false);
    for (const copy of copies) {
      expect(contents.get(copy.messageId)?.summary.envelope.subject).toBe('Quarterly figures');
      const listed = [];
      for await (const message of f.mapper.listMessagesWithContent!(copy.boxId, ALL_UIDS)) listed.push(message.parsed?.envelope.subject);
      expect(listed).toEqual(['Quarterly figures']);
    }
  });

  it('keeps the shared summary while a copy is left and drops it with the last copy', async () => {
    const copies = await deliverToAll(rfc822(1, { Subject: 'Kept' }, body));
    for (const [i, copy] of copies.entries()) {
      await expungeAll(copy.user, copy.boxId);
      const left = copies.slice(i + 1);
      expect(count('SELECT count(*) FROM blob_summary')).toBe(left.length > 0 ? 1 : 0);
      for (const other of left) expect((await f.mapper.getContents([other.messageId], false)).get(other.messageId)?.summary.envelope.subject).toBe('Kept');
    }
  });

  it('keeps the summary in the content row when the text is not shared (a short text)', async () => {
    const copies = await deliverToAll(rfc822(1, { Subject: 'Short one' }, 'short body\r\n'));
    expect(count('SELECT count(*) FROM blob_summary')).toBe(0);
    expect(count("SELECT count(*) FROM message_content WHERE summary = ''")).toBe(0);
    expect((await f.mapper.getContents([copies[1].messageId], false)).get(copies[1].messageId)?.summary.envelope.subject).toBe('Short one');
  });

  it('keeps its own summary for a copy whose summary differs from the one stored for its blob', async () => {
    const box = await f.manager.ensureMailbox('a@example.com', 'INBOX');
    const text = 'the same shared text '.repeat(30);
    await f.mapper.append(box.id, input('blob-3', text, 1, { size: 10 }));
    await f.mapper.append(box.id, input('blob-3', text, 2, { size: 11 }));
    await f.mapper.append(box.id, input('blob-3', text, 3, { size: 10 }));
    expect(count("SELECT count(*) FROM message_content WHERE summary = ''")).toBe(2);
    const contents = await f.mapper.getContents(['m-1', 'm-2', 'm-3'], true);
    expect(['m-1', 'm-2', 'm-3'].map((id) => (contents.get(id)?.summary as unknown as { size: number }).size)).toEqual([10, 11, 10]);
  });

  it('stores the summary again when the append that first wrote it was rolled back', async () => {
    const failing = await f.manager.ensureMailbox('a@example.com', 'INBOX');
    const ok = await f.manager.ensureMailbox('b@example.com', 'INBOX');
    db.exec(`CREATE TRIGGER fail_append BEFORE INSERT ON messages WHEN NEW.mailbox_id = '${failing.id}' BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    const text = 'a text worth sharing '.repeat(30);
    // The reason is compared as text: a SqliteError may come from another realm than jest's Error.
    const [failed] = await Promise.allSettled([f.mapper.append(failing.id, input('blob-4', text, 1, { size: 41 }))]);
    expect(failed.status).toBe('rejected');
    expect(String((failed as PromiseRejectedResult).reason)).toMatch(/disk says no/);
    expect(count('SELECT count(*) FROM blob_summary')).toBe(0);
    await f.mapper.append(ok.id, input('blob-4', text, 2, { size: 42 }));
    expect(count('SELECT count(*) FROM blob_summary')).toBe(1);
    expect(((await f.mapper.getContents(['m-2'], false)).get('m-2')?.summary as unknown as { size: number }).size).toBe(42);
  });
});
