import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { UsernameChange } from '../../src/users/username-change';
import { mailboxFixture, rfc822, type MailboxFixture } from '../contracts/mailbox-store.contract';
import { openTestDatabase, type TestDatabase } from '../helpers/store-fixtures';

const OLD = 'old@example.com';
const NEW = 'new@example.com';
const STEP = 'MailboxUsernameChangeTaskStep';

/**
 * The mailbox step of the username change on the real SQLite mailbox store. Only the step's
 * own port is wired: the other steps' stores are not touched by it.
 */
describe('username change: mailbox step', () => {
  let database: TestDatabase;
  let f: MailboxFixture;
  let change: UsernameChange;

  beforeEach(async () => {
    database = openTestDatabase('postflow-username-change-');
    f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(database.db), cleanup: async () => undefined }));
    const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used by the mailbox step')) });
    change = new UsernameChange({ rrt: unused as never, delegations: unused as never, mailboxes: f.manager, logger: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    await f.cleanup();
    await database.cleanup();
  });

  async function deliver(user: string, mailbox: string, n: number): Promise<void> {
    const target = await f.manager.ensureMailbox(user, mailbox);
    const stored = await f.blobs.put(MAIL_BUCKET, rfc822(n));
    await f.manager.append(user, target.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
  }

  it('leaves the old user no mailbox at all, INBOX included, after moving every message', async () => {
    await f.manager.provisionUser(OLD);
    await deliver(OLD, 'INBOX', 1);
    await deliver(OLD, 'INBOX', 2);
    await deliver(OLD, 'Projects.2026', 3);
    await f.manager.createMailbox(OLD, 'INBOX.Lists');
    await change.run(STEP, OLD, NEW);

    expect(await f.manager.listMailboxes(OLD)).toEqual([]);
    expect(await f.manager.getMailbox(OLD, 'INBOX')).toBeNull();
    const moved = await f.manager.listMailboxes(NEW);
    expect(moved.map((m) => m.name)).toEqual(expect.arrayContaining(['INBOX', 'INBOX.Lists', 'Projects', 'Projects.2026', 'Sent']));
    expect(moved.find((m) => m.name === 'INBOX')?.messageCount).toBe(2);
    expect(moved.find((m) => m.name === 'Projects.2026')?.messageCount).toBe(1);
    expect(f.bus.ofType('MailboxDeleted').filter((e) => e.user === OLD).map((e) => e.mailboxName)).toContain('INBOX');
    // Rerun (a retried step): nothing left to move, no error.
    await change.run(STEP, OLD, NEW);
    expect(await f.manager.listMailboxes(OLD)).toEqual([]);
    expect((await f.manager.getMailbox(NEW, 'INBOX'))?.messageCount).toBe(2);
  });

  it('moves a mailbox whose role the new user already gives to another mailbox, without that role', async () => {
    await f.manager.createMailbox(OLD, 'INBOX');
    const oldSent = await f.manager.createMailbox(OLD, 'Sent Items', { role: 'sent' });
    await deliver(OLD, 'Sent Items', 1);
    await f.manager.provisionUser(NEW);
    await change.run(STEP, OLD, NEW);

    const sentItems = await f.manager.getMailbox(NEW, 'Sent Items');
    expect(sentItems?.role).toBeNull();
    expect(sentItems?.messageCount).toBe(1);
    expect((await f.manager.getMailbox(NEW, 'Sent'))?.role).toBe('sent');
    expect((await f.manager.listMailboxes(NEW)).filter((m) => m.role === 'sent')).toHaveLength(1);
    expect(await f.manager.getMailboxById(oldSent.id)).toBeNull();
    expect(await f.manager.listMailboxes(OLD)).toEqual([]);
  });

  it('keeps the role of a moved mailbox when the new user has none with it', async () => {
    await f.manager.createMailbox(OLD, 'INBOX');
    await f.manager.createMailbox(OLD, 'Papierkorb', { role: 'trash' });
    await change.run(STEP, OLD, NEW);
    expect((await f.manager.getMailbox(NEW, 'Papierkorb'))?.role).toBe('trash');
  });
});
