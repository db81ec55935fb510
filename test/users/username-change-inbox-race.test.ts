import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { MailboxOperationError } from '../../src/mailbox/api/errors';
import type { MailboxManager } from '../../src/mailbox/api/mailbox-manager';
import { SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { UsernameChange } from '../../src/users/username-change';
import { mailboxFixture, rfc822, type MailboxFixture } from '../contracts/mailbox-store.contract';
import { openTestDatabase, type TestDatabase } from '../helpers/store-fixtures';

const OLD = 'old@example.com';
const NEW = 'new@example.com';
const STEP = 'MailboxUsernameChangeTaskStep';

/** The old INBOX removal of the username change when deliveries keep reaching it (real SQLite store). */
describe('username change: a delivery reaching the old INBOX while it is removed', () => {
  let database: TestDatabase;
  let f: MailboxFixture;

  beforeEach(async () => {
    database = openTestDatabase('postflow-username-race-');
    f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(database.db), cleanup: async () => undefined }));
  });

  afterEach(async () => {
    await f.cleanup();
    await database.cleanup();
  });

  async function deliver(user: string, n: number): Promise<void> {
    const target = await f.manager.ensureMailbox(user, 'INBOX');
    const stored = await f.blobs.put(MAIL_BUCKET, rfc822(n));
    await f.manager.append(user, target.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
  }

  /** The manager, with `deliveries` messages delivered to the old INBOX just before each of the first deleteInbox calls. */
  function racedManager(deliveries: number): { manager: MailboxManager; calls: () => number } {
    let calls = 0;
    const manager = new Proxy(f.manager, {
      get(target, property, receiver) {
        if (property !== 'deleteInbox') return Reflect.get(target, property, receiver) as unknown;
        return async (user: string) => {
          calls++;
          if (calls <= deliveries) await deliver(OLD, 100 + calls);
          return target.deleteInbox(user);
        };
      },
    });
    return { manager, calls: () => calls };
  }

  function changeWith(manager: MailboxManager): UsernameChange {
    const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used by the mailbox step')) });
    return new UsernameChange({ rrt: unused as never, delegations: unused as never, mailboxes: manager, logger: pino({ level: 'silent' }) });
  }

  it('moves what arrived after the first move, then removes the old INBOX: no message is left behind or lost', async () => {
    await f.manager.provisionUser(OLD);
    await deliver(OLD, 1);
    const { manager, calls } = racedManager(2);
    await changeWith(manager).run(STEP, OLD, NEW);
    expect(calls()).toBe(3);
    expect(await f.manager.getMailbox(OLD, 'INBOX')).toBeNull();
    expect((await f.manager.getMailbox(NEW, 'INBOX'))?.messageCount).toBe(3);
  });

  it('gives up after five rounds with the old INBOX kept, holding what arrived last', async () => {
    await f.manager.provisionUser(OLD);
    await deliver(OLD, 1);
    const { manager, calls } = racedManager(Infinity);
    const err = await changeWith(manager)
      .run(STEP, OLD, NEW)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailboxOperationError);
    expect(calls()).toBe(5);
    const oldInbox = await f.manager.getMailbox(OLD, 'INBOX');
    expect(oldInbox?.messageCount).toBe(1);
    expect((await f.manager.getMailbox(NEW, 'INBOX'))?.messageCount).toBe(5);
  });
});
