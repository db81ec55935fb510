import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIL_BUCKET, type BlobStore } from '../../src/blob/api/blob-store';
import { FileBlobStore } from '../../src/blob/file/file-blob-store';
import { AlreadyExistsError, InvalidInputError, NotFoundError, TemporaryError } from '../../src/core/errors';
import type { EventBus, GroupListener, MailboxEvent, Registration } from '../../src/events/api/event-bus';
import {
  HasChildrenError,
  InvalidMailboxNameError,
  MailboxExistsError,
  MailboxLimitError,
  MailboxNotFoundError,
  MailboxOperationError,
  MailboxRoleTakenError,
  NoRightError,
  OverQuotaError,
  mailboxErrorCode,
} from '../../src/mailbox/api/errors';
import type { MailboxMapper, MailboxMapperOptions } from '../../src/mailbox/api/mailbox-mapper';
import type { MailboxManager } from '../../src/mailbox/api/mailbox-manager';
import { ALL_UIDS, type AppendRequest, type MessageRecord, type UidRange } from '../../src/mailbox/api/mailbox-store';
import { MAX_MAILBOX_DEPTH, MAX_MAILBOX_NAME_LENGTH } from '../../src/mailbox/api/names';
import { PREFETCH_MAX_BYTES, StoreMailboxManager } from '../../src/mailbox/store-mailbox-manager';
import { BlobTooLargeError } from '../../src/blob/api/errors';
import { MAX_HEADER_PREFIX_BYTES } from '../../src/mailbox/message-content';
import { parseMessage } from '../../src/mime/mime-parser';
import type { Readable } from 'node:stream';

/** An adapter under test: its MailboxMapper; the suite runs it behind the StoreMailboxManager. */
export interface MailboxMapperTestee {
  mapper: MailboxMapper;
  cleanup(): Promise<void>;
}

/** Records what the manager dispatches (a double of our own port; the buses have their own suite). */
export class RecordingEventBus implements EventBus {
  readonly events: MailboxEvent[] = [];
  async dispatch(event: MailboxEvent): Promise<void> {
    this.events.push(event);
  }
  async registerMailboxListener(): Promise<Registration> {
    return { unregister: async () => undefined };
  }
  async registerGroupListener(_listener: GroupListener): Promise<Registration> {
    return { unregister: async () => undefined };
  }
  async reDeliver(): Promise<void> {}
  ofType<T extends MailboxEvent['type']>(type: T): Extract<MailboxEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<MailboxEvent, { type: T }> => e.type === type);
  }
}

export interface MailboxFixture {
  manager: MailboxManager;
  mapper: MailboxMapper;
  blobs: BlobStore;
  bus: RecordingEventBus;
  cleanup(): Promise<void>;
}

/** The manager over a mapper, with a blob store in a temporary folder and a recording bus. */
export async function mailboxFixture(makeTestee: () => Promise<MailboxMapperTestee>): Promise<MailboxFixture> {
  const testee = await makeTestee();
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-mailbox-blobs-'));
  const blobs = await new FileBlobStore(dir).init();
  const bus = new RecordingEventBus();
  return {
    manager: new StoreMailboxManager(testee.mapper, bus, blobs),
    mapper: testee.mapper,
    blobs,
    bus,
    async cleanup() {
      await testee.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function rfc822(n: number, headers: Record<string, string> = {}, body = `Body of message ${n}\r\n`): Buffer {
  const all: Record<string, string> = { From: 'Bob <bob@example.net>', To: 'alice@example.com', Subject: `Message ${n}`, 'Message-ID': `<m${n}.${randomUUID()}@example.net>`, ...headers };
  const head = Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.from(`${head}\r\n${body}`);
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const range = (from: number, to: number): UidRange => ({ from, to });

/** The mailbox model's behaviour (James' MailboxManagerTest), run against every adapter. */
export function describeMailboxStoreContract(name: string, makeTestee: (options?: MailboxMapperOptions) => Promise<MailboxMapperTestee>): void {
  describe(`Mailbox contract: ${name}`, () => {
    const alice = 'alice@example.com';
    const bob = 'bob@example.com';
    let f: MailboxFixture;
    let manager: MailboxManager;

    beforeEach(async () => {
      f = await mailboxFixture(makeTestee);
      manager = f.manager;
    });

    afterEach(async () => {
      await f?.cleanup();
    });

    async function request(n: number, extra: Partial<AppendRequest> = {}, bytes: Buffer = rfc822(n)): Promise<AppendRequest> {
      const stored = await f.blobs.put(MAIL_BUCKET, bytes);
      return { blobId: stored.blobId, size: stored.size, internalDate: new Date(Date.UTC(2024, 0, 1) + n * 1_000), ...extra };
    }

    async function appendMany(mailboxId: string, count: number, concurrency: number, extra: Partial<AppendRequest> = {}): Promise<MessageRecord[]> {
      const out: MessageRecord[] = [];
      const stored = await request(0, extra);
      for (let first = 0; first < count; first += concurrency) {
        const batch = Array.from({ length: Math.min(concurrency, count - first) }, () => stored);
        out.push(...(await Promise.all(batch.map((r) => manager.append(alice, mailboxId, r)))));
      }
      return out;
    }

    async function uidsOf(mailboxId: string): Promise<number[]> {
      return manager.listUids(mailboxId);
    }

    describe('mailboxes', () => {
      it('creates an empty mailbox with UIDNEXT 1, HIGHESTMODSEQ 0, zero counters and a UIDVALIDITY', async () => {
        const mailbox = await manager.createMailbox(alice, 'Projects');
        expect(mailbox).toMatchObject({ owner: alice, name: 'Projects', uidNext: 1, highestModSeq: 0, messageCount: 0, unseenCount: 0, size: 0, role: null });
        expect(mailbox.uidValidity).toBeGreaterThan(0);
        expect(mailbox.uidValidity).toBeLessThan(2 ** 31);
        expect(await manager.getMailbox(alice, 'Projects')).toEqual(mailbox);
        expect(await manager.getMailboxById(mailbox.id)).toEqual(mailbox);
        expect(f.bus.ofType('MailboxAdded')).toEqual([expect.objectContaining({ user: alice, mailboxId: mailbox.id, mailboxName: 'Projects' })]);
      });

      it('creates the missing parents of a hierarchical name, each announced', async () => {
        const leaf = await manager.createMailbox(alice, 'Work.2024.Q1');
        expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['Work', 'Work.2024', 'Work.2024.Q1']);
        expect(f.bus.ofType('MailboxAdded').map((e) => e.mailboxName)).toEqual(['Work', 'Work.2024', 'Work.2024.Q1']);
        expect(leaf.name).toBe('Work.2024.Q1');
      });

      it('refuses to create a mailbox that exists with MailboxExistsError (ALREADYEXISTS)', async () => {
        await manager.createMailbox(alice, 'Archive');
        const err = await manager.createMailbox(alice, 'Archive').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MailboxExistsError);
        expect(err).toBeInstanceOf(AlreadyExistsError);
        expect(mailboxErrorCode(err)).toBe('ALREADYEXISTS');
        expect(await manager.listMailboxes(alice)).toHaveLength(1);
      });

      it('lets exactly one of concurrent creations of one mailbox succeed', async () => {
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => manager.createMailbox(alice, 'Race')));
        const created = results.filter((r) => r.status === 'fulfilled');
        expect(created).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
        expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['Race']);
      });

      it('treats INBOX and its children case-insensitively and keeps other names case-sensitive', async () => {
        const inbox = await manager.createMailbox(alice, 'inbox');
        expect(inbox.name).toBe('INBOX');
        expect((await manager.getMailbox(alice, 'InBoX'))?.id).toBe(inbox.id);
        expect((await manager.createMailbox(alice, 'inbox.Lists')).name).toBe('INBOX.Lists');
        const upper = await manager.createMailbox(alice, 'Sent');
        const lower = await manager.createMailbox(alice, 'sent');
        expect(upper.id).not.toBe(lower.id);
      });

      it.each([
        ['empty', ''],
        ['over-long', 'x'.repeat(MAX_MAILBOX_NAME_LENGTH + 1)],
        ['a control character', 'a\u0000b'],
        ['a line break', 'new\nline'],
        ['a lone surrogate (bad UTF-16/UTF-8)', 'bad\ud800name'],
        ['a replacement character left by a bad decoding', 'bad\ufffdname'],
        ['a doubled delimiter', 'a..b'],
        ['a leading delimiter', '.a'],
        ['a trailing delimiter', 'a.'],
        ['a wildcard', 'a*b'],
        ['a percent wildcard', 'a%'],
        ['a namespace prefix', '#news'],
        ['too many levels', Array.from({ length: MAX_MAILBOX_DEPTH + 1 }, (_, i) => `l${i}`).join('.')],
      ])('refuses a name with %s with InvalidMailboxNameError and creates nothing', async (_what, bad) => {
        const err = await manager.createMailbox(alice, bad).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidMailboxNameError);
        expect(err).toBeInstanceOf(InvalidInputError);
        expect(await manager.listMailboxes(alice)).toEqual([]);
      });

      it('accepts non-ASCII names as given', async () => {
        const created = await manager.createMailbox(alice, 'Boîte envoyée.Entwürfe');
        expect((await manager.getMailbox(alice, 'Boîte envoyée.Entwürfe'))?.id).toBe(created.id);
      });

      it('returns null for a mailbox that does not exist, by name or by id', async () => {
        expect(await manager.getMailbox(alice, 'Nope')).toBeNull();
        expect(await manager.getMailboxById(randomUUID())).toBeNull();
        expect(await manager.getMailboxById('not-an-id')).toBeNull();
      });

      it("lists one owner's mailboxes in name order and nobody else's", async () => {
        await manager.createMailbox(alice, 'Trash');
        await manager.createMailbox(alice, 'Archive');
        await manager.createMailbox(bob, 'INBOX');
        expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['Archive', 'Trash']);
        expect(await manager.listMailboxes('nobody@example.com')).toEqual([]);
      });

      it('provisions INBOX, Drafts, Sent, Trash, Junk and Archive with their roles, subscribed, once', async () => {
        const first = await manager.provisionUser(alice);
        const again = await manager.provisionUser(alice);
        expect(first.map((m) => [m.name, m.role])).toEqual([
          ['INBOX', 'inbox'],
          ['Drafts', 'drafts'],
          ['Sent', 'sent'],
          ['Trash', 'trash'],
          ['Junk', 'junk'],
          ['Archive', 'archive'],
        ]);
        expect(again.map((m) => m.id)).toEqual(first.map((m) => m.id));
        expect(await manager.listSubscriptions(alice)).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
        expect(f.bus.ofType('MailboxAdded')).toHaveLength(6);
      });

      it('ensureMailbox(INBOX) provisions a new user once, even when called concurrently', async () => {
        const inboxes = await Promise.all(Array.from({ length: 5 }, () => manager.ensureMailbox(alice, 'INBOX')));
        expect(new Set(inboxes.map((m) => m.id)).size).toBe(1);
        expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
      });

      describe('rename', () => {
        it('renames a mailbox and its children, keeping ids, UIDVALIDITY and messages', async () => {
          const parent = await manager.createMailbox(alice, 'Work');
          const child = await manager.createMailbox(alice, 'Work.Old');
          await manager.append(alice, child.id, await request(1));
          const renamed = await manager.renameMailbox(alice, 'Work', 'Job');
          expect(renamed).toMatchObject({ id: parent.id, name: 'Job', uidValidity: parent.uidValidity });
          expect((await manager.listMailboxes(alice)).map((m) => [m.name, m.id])).toEqual([
            ['Job', parent.id],
            ['Job.Old', child.id],
          ]);
          expect(await uidsOf(child.id)).toEqual([1]);
          expect(f.bus.ofType('MailboxRenamed').map((e) => [e.oldName, e.newName])).toEqual([
            ['Work', 'Job'],
            ['Work.Old', 'Job.Old'],
          ]);
        });

        it('creates the missing parents of the new name and moves subscriptions along', async () => {
          await manager.createMailbox(alice, 'Lists');
          await manager.subscribe(alice, 'Lists');
          await manager.renameMailbox(alice, 'Lists', 'Archive.2024.Lists');
          expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['Archive', 'Archive.2024', 'Archive.2024.Lists']);
          expect(await manager.listSubscriptions(alice)).toEqual(['Archive.2024.Lists']);
        });

        it('moves the messages of INBOX to the new mailbox and leaves INBOX empty, with its UIDVALIDITY', async () => {
          const inbox = await manager.createMailbox(alice, 'INBOX');
          const kept = await manager.createMailbox(alice, 'INBOX.Kept');
          await manager.append(alice, inbox.id, await request(1, { flags: ['\\Seen'] }));
          await manager.append(alice, inbox.id, await request(2));
          const old = await manager.renameMailbox(alice, 'INBOX', 'Old Inbox');
          expect(old.id).not.toBe(inbox.id);
          expect(await uidsOf(old.id)).toEqual([1, 2]);
          expect(await manager.getMailbox(alice, 'INBOX')).toMatchObject({ id: inbox.id, uidValidity: inbox.uidValidity, messageCount: 0, uidNext: 3 });
          expect((await manager.getMailbox(alice, 'INBOX.Kept'))?.id).toBe(kept.id);
          expect(await manager.getMailbox(alice, 'Old Inbox')).toMatchObject({ messageCount: 2, unseenCount: 1 });
        });

        it('refuses to rename into its own child, onto an existing name, or a missing mailbox', async () => {
          await manager.createMailbox(alice, 'A');
          await manager.createMailbox(alice, 'B');
          await expect(manager.renameMailbox(alice, 'A', 'A.child')).rejects.toBeInstanceOf(MailboxOperationError);
          await expect(manager.renameMailbox(alice, 'A', 'B')).rejects.toBeInstanceOf(MailboxExistsError);
          await expect(manager.renameMailbox(alice, 'A', 'A')).rejects.toBeInstanceOf(MailboxExistsError);
          const missing = await manager.renameMailbox(alice, 'Nope', 'C').catch((e: unknown) => e);
          expect(missing).toBeInstanceOf(MailboxNotFoundError);
          expect(mailboxErrorCode(missing)).toBe('NONEXISTENT');
          await expect(manager.renameMailbox(alice, 'A', 'bad..name')).rejects.toBeInstanceOf(InvalidMailboxNameError);
          expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['A', 'B']);
        });

        it('loses no message appended while the mailbox is renamed', async () => {
          const mailbox = await manager.createMailbox(alice, 'Busy');
          const stored = await request(1);
          const appends = Array.from({ length: 20 }, () => manager.append(alice, mailbox.id, stored));
          const [renamed] = await Promise.all([manager.renameMailbox(alice, 'Busy', 'Calm'), ...appends]);
          expect((await uidsOf(mailbox.id)).length).toBe(20);
          expect(await manager.getMailbox(alice, 'Calm')).toMatchObject({ id: mailbox.id, messageCount: 20 });
          expect(renamed.id).toBe(mailbox.id);
        });
      });

      describe('delete', () => {
        it('deletes a mailbox and its messages, announcing how many there were', async () => {
          const mailbox = await manager.createMailbox(alice, 'Old');
          await manager.append(alice, mailbox.id, await request(1));
          await manager.deleteMailbox(alice, 'Old');
          expect(await manager.getMailbox(alice, 'Old')).toBeNull();
          expect(await uidsOf(mailbox.id)).toEqual([]);
          expect(f.bus.ofType('MailboxDeleted')).toEqual([expect.objectContaining({ mailboxId: mailbox.id, mailboxName: 'Old', messageCount: 1 })]);
          await expect(manager.append(alice, mailbox.id, await request(2))).rejects.toBeInstanceOf(NotFoundError);
        });

        it('refuses to delete INBOX, a mailbox with children, or a missing mailbox', async () => {
          await manager.createMailbox(alice, 'INBOX');
          await manager.createMailbox(alice, 'P.C');
          const inbox = await manager.deleteMailbox(alice, 'inbox').catch((e: unknown) => e);
          expect(inbox).toBeInstanceOf(MailboxOperationError);
          expect(mailboxErrorCode(inbox)).toBe('CANNOT');
          const parent = await manager.deleteMailbox(alice, 'P').catch((e: unknown) => e);
          expect(parent).toBeInstanceOf(HasChildrenError);
          expect(mailboxErrorCode(parent)).toBe('HASCHILDREN');
          await expect(manager.deleteMailbox(alice, 'Nope')).rejects.toBeInstanceOf(MailboxNotFoundError);
          expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['INBOX', 'P', 'P.C']);
        });

        it('never acknowledges a delivery that a racing deleteInbox then deletes: the append lands and the INBOX stays, or the append fails', async () => {
          let kept = 0;
          let deleted = 0;
          for (let round = 0; round < 16; round++) {
            const inbox = await manager.createMailbox(alice, 'INBOX');
            const delivery = await request(round);
            // The store-level delete (no early look at the UIDs) races three appends started around it.
            const appends = [0, 1, 2].map((i) => new Promise<void>((resolve) => setTimeout(resolve, (round + i) % 4)).then(() => manager.append(alice, inbox.id, delivery)));
            const removal = round % 2 === 0 ? f.mapper.deleteMailboxIfEmpty(inbox.id, alice, 'INBOX') : manager.deleteInbox(alice).then(() => true);
            const outcomes = await Promise.allSettled(appends);
            const removed = await removal.catch((e: unknown) => e);
            const acknowledged = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.uid] : []));
            for (const o of outcomes) if (o.status === 'rejected') expect(o.reason instanceof NotFoundError || o.reason instanceof TemporaryError).toBe(true);
            if (acknowledged.length > 0) {
              expect(removed === false || removed instanceof MailboxOperationError).toBe(true);
              expect((await manager.getMailbox(alice, 'INBOX'))?.id).toBe(inbox.id);
              expect(await f.mapper.listUids(inbox.id)).toEqual(expect.arrayContaining(acknowledged));
            }
            if (removed === true) {
              deleted++;
              expect(await manager.getMailbox(alice, 'INBOX')).toBeNull();
              continue;
            }
            kept++;
            await manager.updateFlags(alice, inbox.id, [ALL_UIDS], { mode: 'add', flags: ['\\Deleted'] });
            await manager.expunge(alice, inbox.id);
            await manager.deleteInbox(alice);
          }
          expect(kept + deleted).toBe(16);
        });

        it('deletes an empty INBOX without children through deleteInbox (username change), and refuses one that is not', async () => {
          const inbox = await manager.createMailbox(alice, 'INBOX');
          await manager.createMailbox(alice, 'INBOX.Lists');
          const message = await manager.append(alice, inbox.id, await request(1));
          expect(await manager.deleteInbox(alice).catch((e: unknown) => e)).toBeInstanceOf(MailboxOperationError);
          await manager.updateFlags(alice, inbox.id, [{ from: message.uid, to: message.uid }], { mode: 'add', flags: ['\\Deleted'] });
          await manager.expunge(alice, inbox.id);
          expect(await manager.deleteInbox(alice).catch((e: unknown) => e)).toBeInstanceOf(HasChildrenError);
          expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['INBOX', 'INBOX.Lists']);
          await manager.deleteMailbox(alice, 'INBOX.Lists');
          await manager.deleteInbox(alice);
          expect(await manager.listMailboxes(alice)).toEqual([]);
          expect(f.bus.ofType('MailboxDeleted').map((e) => e.mailboxName)).toEqual(['INBOX.Lists', 'INBOX']);
          // Nothing to delete: no error; the next ensureMailbox provisions a new INBOX with its role.
          await manager.deleteInbox(alice);
          const again = await manager.ensureMailbox(alice, 'INBOX');
          expect(again.id).not.toBe(inbox.id);
          expect((await manager.getMailbox(alice, 'INBOX'))?.role).toBe('inbox');
        });
      });

      describe('special-use roles (one mailbox per role and user)', () => {
        async function holders(owner: string, role: string): Promise<string[]> {
          return (await manager.listMailboxes(owner)).filter((m) => m.role === role).map((m) => m.name);
        }

        it('lets exactly one of 8 concurrent creates with one role succeed; the others get USEATTR and leave no mailbox', async () => {
          const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => manager.createMailbox(alice, `Sent${i}`, { role: 'sent' })));
          const created = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
          expect(created).toHaveLength(1);
          for (const r of results) {
            if (r.status === 'fulfilled') continue;
            expect(r.reason).toBeInstanceOf(MailboxRoleTakenError);
            expect(mailboxErrorCode(r.reason)).toBe('USEATTR');
          }
          expect(created[0].role).toBe('sent');
          expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual([created[0].name]);
          expect(await holders(alice, 'sent')).toEqual([created[0].name]);
        });

        it('removes the parents a refused create made, so concurrent hierarchical creates leave only the winner', async () => {
          const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => manager.createMailbox(alice, `Box${i}.Trash`, { role: 'trash' })));
          const created = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
          expect(created).toHaveLength(1);
          const parent = created[0].name.split('.')[0];
          expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual([parent, created[0].name]);
          // Every mailbox announced and then removed is announced as deleted: listeners see no ghost.
          const added = f.bus.ofType('MailboxAdded').map((e) => e.mailboxId);
          const deleted = f.bus.ofType('MailboxDeleted').map((e) => e.mailboxId);
          const live = (await manager.listMailboxes(alice)).map((m) => m.id);
          expect(added.filter((id) => !deleted.includes(id)).sort()).toEqual([...live].sort());
        });

        it('refuses a role another mailbox holds before creating anything, and keeps it per user', async () => {
          await manager.createMailbox(alice, 'Drafts', { role: 'drafts' });
          const err = await manager.createMailbox(alice, 'New.Drafts', { role: 'drafts' }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(MailboxRoleTakenError);
          expect((await manager.listMailboxes(alice)).map((m) => m.name)).toEqual(['Drafts']);
          expect((await manager.createMailbox(bob, 'Drafts', { role: 'drafts' })).role).toBe('drafts');
          // Without a role, any number of mailboxes.
          await manager.createMailbox(alice, 'Plain1');
          await manager.createMailbox(alice, 'Plain2');
          expect(await holders(alice, 'drafts')).toEqual(['Drafts']);
        });

        it('keeps the role through a rename and frees it on delete, so a new mailbox can take it', async () => {
          await manager.createMailbox(alice, 'Junk', { role: 'junk' });
          await manager.renameMailbox(alice, 'Junk', 'Spam');
          expect((await manager.getMailbox(alice, 'Spam'))?.role).toBe('junk');
          await expect(manager.createMailbox(alice, 'Junk', { role: 'junk' })).rejects.toBeInstanceOf(MailboxRoleTakenError);
          expect(await manager.getMailbox(alice, 'Junk')).toBeNull();
          await manager.deleteMailbox(alice, 'Spam');
          const taken = await manager.createMailbox(alice, 'Junk', { role: 'junk' });
          expect(taken.role).toBe('junk');
          expect(await holders(alice, 'junk')).toEqual(['Junk']);
        });

        it('lets one of concurrent creates of one name with one role win, and the role stays with it', async () => {
          const results = await Promise.allSettled(Array.from({ length: 6 }, () => manager.createMailbox(alice, 'Archive', { role: 'archive' })));
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
          expect(await holders(alice, 'archive')).toEqual(['Archive']);
          await manager.deleteMailbox(alice, 'Archive');
          expect((await manager.createMailbox(alice, 'Old mail', { role: 'archive' })).role).toBe('archive');
        });

        it('does not let a create refused for its name keep the role it asked for', async () => {
          await manager.createMailbox(alice, 'Taken');
          const err = await f.mapper.insertMailbox({ id: randomUUID(), owner: alice, name: 'Taken', uidValidity: 7, role: 'trash' }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(MailboxExistsError);
          expect((await manager.createMailbox(alice, 'Bin', { role: 'trash' })).role).toBe('trash');
          expect((await manager.getMailbox(alice, 'Taken'))?.role).toBeNull();
        });

        it('decides concurrent inserts at the store itself: one holder, the losers unreachable by name or id', async () => {
          const ids = Array.from({ length: 8 }, () => randomUUID());
          const results = await Promise.allSettled(ids.map((id, i) => f.mapper.insertMailbox({ id, owner: alice, name: `T${i}`, uidValidity: 1 + i, role: 'trash' })));
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          for (const [i, r] of results.entries()) {
            if (r.status === 'fulfilled') continue;
            expect(r.reason).toBeInstanceOf(MailboxRoleTakenError);
            expect(await f.mapper.findMailboxById(ids[i])).toBeNull();
            expect(await f.mapper.findMailboxByName(alice, `T${i}`)).toBeNull();
          }
          expect(await holders(alice, 'trash')).toHaveLength(1);
        });

        it('provisions a default mailbox without its role when the user gave that role to another mailbox', async () => {
          const mine = await manager.createMailbox(alice, 'Sent Items', { role: 'sent' });
          const provisioned = await manager.provisionUser(alice);
          expect(provisioned.find((m) => m.name === 'Sent')?.role).toBeNull();
          expect(provisioned.find((m) => m.name === 'Drafts')?.role).toBe('drafts');
          expect(await holders(alice, 'sent')).toEqual(['Sent Items']);
          expect((await manager.getMailboxById(mine.id))?.role).toBe('sent');
        });
      });

      it('keeps subscriptions per user, independent of the mailboxes, and validates their names', async () => {
        await manager.subscribe(alice, 'Lists');
        await manager.subscribe(alice, 'Lists');
        await manager.subscribe(alice, 'inbox');
        await manager.subscribe(bob, 'Other');
        expect(await manager.listSubscriptions(alice)).toEqual(['INBOX', 'Lists']);
        await manager.unsubscribe(alice, 'Lists');
        expect(await manager.listSubscriptions(alice)).toEqual(['INBOX']);
        await expect(manager.subscribe(alice, 'a..b')).rejects.toBeInstanceOf(InvalidMailboxNameError);
      });
    });

    describe('messages', () => {
      it('appends with increasing UIDs and MODSEQs, and keeps the counters', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const first = await manager.append(alice, mailbox.id, await request(1));
        const second = await manager.append(alice, mailbox.id, await request(2, { flags: ['\\Seen', '$Label1'] }));
        expect(first).toMatchObject({ mailboxId: mailbox.id, uid: 1, flags: [] });
        expect(second.uid).toBe(2);
        expect(second.modSeq).toBeGreaterThan(first.modSeq);
        expect(second.messageId).not.toBe(first.messageId);
        expect(second.savedDate.getTime()).toBeGreaterThan(Date.now() - 60_000);
        expect(await manager.getMailboxById(mailbox.id)).toMatchObject({
          uidNext: 3,
          highestModSeq: second.modSeq,
          messageCount: 2,
          unseenCount: 1,
          size: first.size + second.size,
        });
        expect(f.bus.ofType('Added')).toEqual([
          expect.objectContaining({ mailboxId: mailbox.id, uids: [1], modSeq: first.modSeq }),
          expect.objectContaining({ mailboxId: mailbox.id, uids: [2], modSeq: second.modSeq, messages: [expect.objectContaining({ messageId: second.messageId })] }),
        ]);
      });

      it('sums an owner\'s messages and octets over their mailboxes (quota usage), and only theirs', async () => {
        expect(await manager.ownerTotals(alice)).toEqual({ messageCount: 0, size: 0 });
        const inbox = await manager.createMailbox(alice, 'INBOX');
        const work = await manager.createMailbox(alice, 'Work');
        const bobs = await manager.createMailbox(bob, 'INBOX');
        expect(await manager.ownerTotals(alice)).toEqual({ messageCount: 0, size: 0 });
        const one = await manager.append(alice, inbox.id, await request(1));
        const two = await manager.append(alice, work.id, await request(2, {}, rfc822(2, {}, 'a longer body\r\n'.repeat(20))));
        await manager.append(bob, bobs.id, await request(3));
        expect(await manager.ownerTotals(alice)).toEqual({ messageCount: 2, size: one.size + two.size });
        await manager.updateFlags(alice, work.id, [{ from: two.uid, to: two.uid }], { mode: 'add', flags: ['\\Deleted'] });
        await manager.expunge(alice, work.id);
        expect(await manager.ownerTotals(alice)).toEqual({ messageCount: 1, size: one.size });
        expect(await manager.ownerTotals('nobody@example.com')).toEqual({ messageCount: 0, size: 0 });
      });

      it('reads back what was appended: internal date, flags and keywords normalized', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const req = await request(7, { flags: ['\\seen', '\\Seen', '$Forwarded', '$forwarded'] });
        const appended = await manager.append(alice, mailbox.id, req);
        const [read] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS]));
        // Flags are a set: their order is not kept.
        expect({ ...read, flags: [...read.flags].sort() }).toEqual({ ...appended, flags: [...appended.flags].sort() });
        expect([...read.flags].sort()).toEqual(['$Forwarded', '\\Seen']);
        expect(read.internalDate.getTime()).toBe(req.internalDate.getTime());
        expect(read.blobId).toBe(req.blobId);
      });

      it('refuses invalid flags, keywords and sizes with InvalidInputError and stores nothing', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        for (const flags of [['\\Recent'], ['\\Bogus'], ['bad keyword'], ['a(b'], ['x'.repeat(101)]]) {
          await expect(manager.append(alice, mailbox.id, await request(1, { flags }))).rejects.toBeInstanceOf(InvalidInputError);
        }
        await expect(manager.append(alice, mailbox.id, await request(1, { size: -1 }))).rejects.toBeInstanceOf(MailboxLimitError);
        await expect(manager.append(alice, mailbox.id, await request(1, { internalDate: new Date('nope') }))).rejects.toBeInstanceOf(MailboxLimitError);
        expect(await uidsOf(mailbox.id)).toEqual([]);
      });

      it('gives 20 concurrent appends 20 distinct UIDs 1..20 and distinct MODSEQs', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const appended = await appendMany(mailbox.id, 20, 20);
        expect(appended.map((m) => m.uid).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(new Set(appended.map((m) => m.modSeq)).size).toBe(20);
        expect(await manager.getMailboxById(mailbox.id)).toMatchObject({ uidNext: 21, messageCount: 20, highestModSeq: Math.max(...appended.map((m) => m.modSeq)) });
      });

      it('stores one message when the same deliveryKey is appended twice or concurrently', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const req = await request(1, { deliveryKey: 'mail-1/alice' });
        const first = await manager.appendMessage(mailbox.id, req);
        const again = await manager.appendMessage(mailbox.id, req);
        expect(again).toEqual(first);
        const concurrent = await Promise.all(Array.from({ length: 5 }, () => manager.appendMessage(mailbox.id, { ...req, deliveryKey: 'mail-2/alice' })));
        expect(new Set(concurrent.map((m) => m.messageId)).size).toBe(1);
        expect(await uidsOf(mailbox.id)).toHaveLength(2);
        expect((await manager.getMailboxById(mailbox.id))?.messageCount).toBe(2);
      });

      it('refuses to append to a mailbox that does not exist with MailboxNotFoundError', async () => {
        await expect(manager.appendMessage(randomUUID(), await request(1))).rejects.toBeInstanceOf(MailboxNotFoundError);
        await expect(manager.append(alice, randomUUID(), await request(1))).rejects.toBeInstanceOf(MailboxNotFoundError);
      });

      it('refuses to append a message whose content is not in the blob store', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await expect(manager.append(alice, mailbox.id, { blobId: 'f'.repeat(64), size: 10, internalDate: new Date() })).rejects.toBeInstanceOf(NotFoundError);
        expect(await uidsOf(mailbox.id)).toEqual([]);
      });

      it('streams a range of 1,200 messages completely and in UID order, page by page', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await appendMany(mailbox.id, 1_200, 50);
        const uids = (await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS]))).map((m) => m.uid);
        expect(uids).toEqual(Array.from({ length: 1_200 }, (_, i) => i + 1));
        expect((await collect(manager.getMessages(alice, mailbox.id, [range(3, 5), range(1_199, Number.MAX_SAFE_INTEGER)]))).map((m) => m.uid)).toEqual([3, 4, 5, 1_199, 1_200]);
        expect(await collect(manager.getMessages(alice, mailbox.id, [range(5, 4)]))).toEqual([]);
      });

      it('returns the stored headers and parsed data with the headers fetch group, and the content with full', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const bytes = rfc822(1, { Subject: '=?utf-8?q?Gr=C3=BC=C3=9Fe?=' }, 'Hello Alice\r\n');
        await manager.append(alice, mailbox.id, await request(1, {}, bytes));
        const [headers] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'headers'));
        expect(headers.headers?.toString()).toBe(bytes.toString().split('\r\n\r\n')[0] + '\r\n\r\n');
        expect(headers.parsed?.envelope).toMatchObject({ subject: '=?utf-8?q?Gr=C3=BC=C3=9Fe?=', decodedSubject: 'Grüße' });
        expect(headers.parsed?.preview).toBe('Hello Alice');
        expect(headers.openContent).toBeUndefined();
        const [full] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'full'));
        const stream = await (full.openContent as () => Promise<NodeJS.ReadableStream>)();
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks)).toEqual(bytes);
        expect(await manager.getSearchText(alice, full.messageId)).toContain('Hello Alice');
      });

      it('stores a truncated, malformed MIME message byte-exact and lists it', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const broken = Buffer.from('Subject: cut\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhalf a li');
        const appended = await manager.append(alice, mailbox.id, await request(1, {}, broken));
        const [listed] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'headers'));
        expect(listed.uid).toBe(appended.uid);
        expect(listed.parsed?.defects).toContain('multipart not terminated by its closing boundary');
        expect(await f.blobs.readBytes(MAIL_BUCKET, appended.blobId)).toEqual(broken);
      });
    });

    describe('appendContent, parse once, full fetch', () => {
      async function readAll(stream: Readable): Promise<Buffer> {
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      }

      it('stores, parses and appends bytes in one call, the blob byte-exact', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const bytes = rfc822(1, { Subject: 'One pass' }, 'Hello once\r\n');
        const appended = await manager.appendContent(alice, mailbox.id, { content: bytes, internalDate: new Date(), flags: ['\\Seen'] });
        expect(appended).toMatchObject({ uid: 1, size: bytes.length, flags: ['\\Seen'] });
        expect(await f.blobs.readBytes(MAIL_BUCKET, appended.blobId)).toEqual(bytes);
        const [listed] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'headers'));
        expect(listed.parsed?.envelope.subject).toBe('One pass');
        expect(await manager.getSearchText(alice, appended.messageId)).toContain('Hello once');
      });

      it('parses a streamed message on its way to the blob store, the same as a stored one', async () => {
        const { Readable: ReadableStream } = await import('node:stream');
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const bytes = rfc822(2, { 'Content-Type': 'multipart/mixed; boundary=zz' }, '--zz\r\nContent-Type: text/plain\r\n\r\nstreamed text\r\n--zz--\r\n');
        const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
        const streamed = await manager.appendContent(alice, mailbox.id, { content: ReadableStream.from(chunks), internalDate: new Date() });
        const stored = await manager.append(alice, mailbox.id, await request(3, {}, bytes));
        const [a, b] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'headers'));
        expect(a.parsed).toEqual(b.parsed);
        expect(streamed.blobId).toBe(stored.blobId);
        expect(await manager.getSearchText(alice, streamed.messageId)).toContain('streamed text');
      });

      it('refuses content over maxBytes, a missing mailbox or a missing right, appending nothing', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const big = rfc822(1, {}, 'x'.repeat(2_000));
        await expect(manager.appendContent(alice, mailbox.id, { content: big, internalDate: new Date(), maxBytes: 1_000 })).rejects.toBeInstanceOf(BlobTooLargeError);
        const { Readable: ReadableStream } = await import('node:stream');
        await expect(manager.appendContent(alice, mailbox.id, { content: ReadableStream.from([big.subarray(0, 900), big.subarray(900)]), internalDate: new Date(), maxBytes: 1_000 })).rejects.toBeInstanceOf(
          BlobTooLargeError,
        );
        await expect(manager.appendContent(alice, randomUUID(), { content: rfc822(2), internalDate: new Date() })).rejects.toBeInstanceOf(MailboxNotFoundError);
        await expect(manager.appendContent(bob, mailbox.id, { content: rfc822(3), internalDate: new Date() })).rejects.toBeInstanceOf(MailboxNotFoundError);
        await manager.setRights(alice, 'INBOX', bob, 'lr');
        await expect(manager.appendContent(bob, mailbox.id, { content: rfc822(4), internalDate: new Date() })).rejects.toBeInstanceOf(NoRightError);
        await expect(manager.appendContent(alice, mailbox.id, { content: rfc822(5), internalDate: new Date('nope') })).rejects.toBeInstanceOf(MailboxLimitError);
        expect(await uidsOf(mailbox.id)).toEqual([]);
      });

      it('reads and parses a blob appended to several mailboxes once, and still refuses it once it is gone', async () => {
        const reads: string[] = [];
        const read = f.blobs.read.bind(f.blobs);
        f.blobs.read = async (bucket, blobId) => {
          reads.push(blobId);
          return read(bucket, blobId);
        };
        const stored = await request(1, {}, rfc822(1, { Subject: 'For everyone' }));
        const boxes = await Promise.all([alice, bob, 'carol@example.com'].map((user) => manager.ensureMailbox(user, 'INBOX')));
        const appended = await Promise.all(boxes.map((box) => manager.appendMessage(box.id, stored)));
        expect(appended.map((m) => m.uid)).toEqual([1, 1, 1]);
        expect(reads.filter((id) => id === stored.blobId)).toHaveLength(1);
        await f.blobs.delete(MAIL_BUCKET, stored.blobId);
        await expect(manager.appendMessage(boxes[0].id, stored)).rejects.toBeInstanceOf(NotFoundError);
      });

      it('returns small and large bodies of a full fetch byte-exact, and a missing blob only fails its own open', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const small = rfc822(1);
        const large = rfc822(2, {}, `${'y'.repeat(998)}\r\n`.repeat(Math.ceil((PREFETCH_MAX_BYTES * 2) / 1000)));
        const gone = rfc822(3);
        await manager.append(alice, mailbox.id, await request(1, {}, small));
        await manager.append(alice, mailbox.id, await request(2, {}, large));
        const missing = await manager.append(alice, mailbox.id, await request(3, {}, gone));
        await f.blobs.delete(MAIL_BUCKET, missing.blobId);
        const fetched = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'full'));
        expect(fetched.map((m) => m.uid)).toEqual([1, 2, 3]);
        expect(await readAll(await (fetched[0].openContent as () => Promise<Readable>)())).toEqual(small);
        expect(await readAll(await (fetched[1].openContent as () => Promise<Readable>)())).toEqual(large);
        await expect((fetched[2].openContent as () => Promise<Readable>)()).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('per-copy header prefix (one blob shared by the recipients of a mail)', () => {
      const MULTIPART = Buffer.from(
        [
          'From: Bob <bob@example.net>',
          'To: alice@example.com, carol@example.com',
          'Subject: Shared body',
          'Message-ID: <shared.1@example.net>',
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="XX"',
          '',
          '--XX',
          'Content-Type: text/plain; charset=utf-8',
          '',
          'Hello everyone',
          '--XX',
          'Content-Type: message/rfc822',
          '',
          'Subject: inner',
          'From: x@example.org',
          '',
          'inner body',
          '--XX',
          'Content-Type: application/octet-stream; name="a.bin"',
          'Content-Transfer-Encoding: base64',
          '',
          'AAECAwQ=',
          '--XX--',
          '',
        ].join('\r\n'),
      );
      const prefixOf = (rcpt: string): Buffer => Buffer.from(`Delivered-To: ${rcpt}\r\n`);

      async function content(message: { openContent?: () => Promise<Readable> }): Promise<Buffer> {
        const chunks: Buffer[] = [];
        for await (const chunk of await (message.openContent as () => Promise<Readable>)()) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      }

      it('reads a prefixed copy back as prefix + blob: content, header block, size, and a parse equal to parsing those bytes', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const req = await request(1, {}, MULTIPART);
        const prefix = prefixOf(alice);
        const appended = await manager.append(alice, mailbox.id, { ...req, headerPrefix: prefix });
        const whole = Buffer.concat([prefix, MULTIPART]);
        expect(appended).toMatchObject({ blobId: req.blobId, size: whole.length, headerPrefix: prefix });
        expect(await manager.getMailboxById(mailbox.id)).toMatchObject({ size: whole.length });
        const [full] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'full'));
        expect(full.headerPrefix).toEqual(prefix);
        expect(await content(full)).toEqual(whole);
        const expected = await parseMessage(whole);
        expect(full.headers).toEqual(expected.headers);
        expect(full.parsed).toEqual(expected.summary);
        const text = full.parsed?.structure.children?.[0];
        expect(whole.subarray(text?.bodyStart, text?.bodyEnd).toString()).toBe('Hello everyone');
        expect(await manager.getSearchText(alice, full.messageId)).toContain('Hello everyone');
        // The blob itself is untouched: other recipients share it.
        expect(await f.blobs.readBytes(MAIL_BUCKET, req.blobId)).toEqual(MULTIPART);
        const [listed] = await collect(manager.listMessages(mailbox.id, ALL_UIDS));
        expect(listed.headerPrefix).toEqual(prefix);
      });

      it('gives each recipient its own prefix over one shared blob read and parsed once', async () => {
        const reads: string[] = [];
        const read = f.blobs.read.bind(f.blobs);
        f.blobs.read = async (bucket, blobId) => {
          reads.push(blobId);
          return read(bucket, blobId);
        };
        const req = await request(1, {}, MULTIPART);
        const users = Array.from({ length: 10 }, (_, i) => `user${i}@example.com`);
        const boxes = await Promise.all(users.map((user) => manager.ensureMailbox(user, 'INBOX')));
        await Promise.all(boxes.map((box, i) => manager.appendMessage(box.id, { ...req, headerPrefix: prefixOf(users[i]) })));
        expect(reads.filter((id) => id === req.blobId)).toHaveLength(1);
        for (const [i, box] of boxes.entries()) {
          const [message] = await collect(manager.getMessages(users[i], box.id, [ALL_UIDS], 'full'));
          expect(message.blobId).toBe(req.blobId);
          expect(await content(message)).toEqual(Buffer.concat([prefixOf(users[i]), MULTIPART]));
          expect(message.headers?.toString()).toMatch(new RegExp(`^Delivered-To: ${users[i]}\r\nFrom: Bob`));
        }
      });

      it('parses the copy whole when its prefix names a field the parse reads (Subject), so the envelope is right', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const req = await request(1, {}, MULTIPART);
        const prefix = Buffer.from('Subject: per-copy subject\r\nX-Folded: a\r\n b\r\n');
        await manager.append(alice, mailbox.id, { ...req, headerPrefix: prefix });
        const [message] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS], 'headers'));
        const expected = await parseMessage(Buffer.concat([prefix, MULTIPART]));
        expect(message.parsed).toEqual(expected.summary);
        expect(message.parsed?.envelope.subject).toBe('per-copy subject');
      });

      it('refuses a malformed or oversized prefix with InvalidInputError and stores nothing', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const req = await request(1);
        const bad: unknown[] = [
          'Delivered-To: a@b\r\n',
          Buffer.alloc(0),
          Buffer.from('Delivered-To: a@b'),
          Buffer.from('Delivered-To: a@b\n'),
          Buffer.from('Delivered-To: a@b\r\n\r\n'),
          Buffer.from(' continued\r\n'),
          Buffer.from('not a header\r\n'),
          Buffer.from('Bad Name: x\r\n'),
          Buffer.from('A: x\rB: y\r\n'),
          Buffer.from('A: x\r\n \r\n'),
          Buffer.from(`X-Long: ${'x'.repeat(MAX_HEADER_PREFIX_BYTES)}\r\n`),
        ];
        for (const headerPrefix of bad) {
          await expect(manager.append(alice, mailbox.id, { ...req, headerPrefix: headerPrefix as Buffer })).rejects.toBeInstanceOf(InvalidInputError);
        }
        expect(await uidsOf(mailbox.id)).toEqual([]);
        const longest = Buffer.from(`X-Long: ${'x'.repeat(MAX_HEADER_PREFIX_BYTES - 12)}\r\n`);
        expect(longest.length).toBeLessThanOrEqual(MAX_HEADER_PREFIX_BYTES);
        await expect(manager.append(alice, mailbox.id, { ...req, headerPrefix: longest })).resolves.toMatchObject({ uid: 1, size: req.size + longest.length });
      });

      it('keeps the prefix through COPY and MOVE', async () => {
        const inbox = await manager.createMailbox(alice, 'INBOX');
        const archive = await manager.createMailbox(alice, 'Archive');
        const moved = await manager.createMailbox(alice, 'Moved');
        const prefix = prefixOf(alice);
        const req = await request(1, {}, MULTIPART);
        await manager.append(alice, inbox.id, { ...req, headerPrefix: prefix });
        await manager.copyMessages(alice, inbox.id, [ALL_UIDS], archive.id);
        await manager.moveMessages(alice, archive.id, [ALL_UIDS], moved.id);
        const whole = Buffer.concat([prefix, MULTIPART]);
        for (const box of [inbox, moved]) {
          const [message] = await collect(manager.getMessages(alice, box.id, [ALL_UIDS], 'full'));
          expect(message).toMatchObject({ headerPrefix: prefix, size: whole.length, blobId: req.blobId });
          expect(await content(message)).toEqual(whole);
        }
        expect(await manager.getMailboxById(moved.id)).toMatchObject({ messageCount: 1, size: whole.length });
        expect(await uidsOf(archive.id)).toEqual([]);
      });

      it('finds a retried delivery by its key before the quota check, so a delivery that filled the quota is not refused', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const limit = 1;
        (manager as StoreMailboxManager).setQuotaChecker({
          checkAddition: async (owner: string, count: number) => {
            const used = (await manager.listMailboxes(owner)).reduce((n, m) => n + m.messageCount, 0);
            if (used + count > limit) throw new OverQuotaError('Over quota', 'count');
          },
        });
        const req = await request(1, { deliveryKey: 'mail-1/alice', headerPrefix: prefixOf(alice) });
        const first = await manager.appendMessage(mailbox.id, req);
        f.bus.events.length = 0;
        const retried = await manager.appendMessage(mailbox.id, req);
        expect(retried).toEqual(first);
        // The retry announces the message again (at least once: the first attempt may have died before its event).
        expect(f.bus.ofType('Added')).toEqual([expect.objectContaining({ uids: [first.uid] })]);
        await expect(manager.appendMessage(mailbox.id, { ...req, deliveryKey: 'mail-2/alice' })).rejects.toBeInstanceOf(OverQuotaError);
        expect(await uidsOf(mailbox.id)).toEqual([first.uid]);
      });
    });

    describe('parsed data and the expunge log', () => {
      it('removes parsed data and thread entries with the last copy of a message, and not before', async () => {
        const inbox = await manager.createMailbox(alice, 'INBOX');
        const archive = await manager.createMailbox(alice, 'Archive');
        const root = await manager.append(alice, inbox.id, await request(1, {}, rfc822(1, { 'Message-ID': '<root@x>', Subject: 'Plans' })));
        const reply = await manager.append(alice, inbox.id, await request(2, {}, rfc822(2, { 'Message-ID': '<r1@x>', 'In-Reply-To': '<root@x>', Subject: 'Re: Plans' })));
        await manager.copyMessages(alice, inbox.id, [range(2, 2)], archive.id);
        await manager.updateFlags(alice, inbox.id, [range(2, 2)], { mode: 'add', flags: ['\\Deleted'] });
        await manager.expunge(alice, inbox.id);
        expect((await f.mapper.getContents([reply.messageId], false)).has(reply.messageId)).toBe(true);
        expect((await f.mapper.findThreads(alice, ['r1@x'])).map((t) => t.threadId)).toEqual([root.threadId]);

        await manager.updateFlags(alice, archive.id, [ALL_UIDS], { mode: 'add', flags: ['\\Deleted'] });
        expect(await manager.expunge(alice, archive.id)).toEqual([1]);
        expect((await f.mapper.getContents([reply.messageId], true)).size).toBe(0);
        expect(await f.mapper.findThreads(alice, ['r1@x'])).toEqual([]);
        // The root still exists: its own entry stays, and a new reply to it joins its thread.
        expect((await f.mapper.getContents([root.messageId], false)).has(root.messageId)).toBe(true);
        const late = await manager.append(alice, inbox.id, await request(3, {}, rfc822(3, { 'Message-ID': '<r2@x>', 'In-Reply-To': '<root@x>', Subject: 'Re: Plans' })));
        expect(late.threadId).toBe(root.threadId);
      });

      it('removes the parsed data of the messages of a deleted mailbox that have no other copy', async () => {
        const a = await manager.createMailbox(alice, 'A');
        const b = await manager.createMailbox(alice, 'B');
        const only = await manager.append(alice, a.id, await request(1));
        const shared = await manager.append(alice, a.id, await request(2));
        await manager.copyMessages(alice, a.id, [range(2, 2)], b.id);
        await manager.deleteMailbox(alice, 'A');
        const left = await f.mapper.getContents([only.messageId, shared.messageId], false);
        expect([...left.keys()]).toEqual([shared.messageId]);
      });

      it('answers VANISHED exactly inside the retained window and with a full resync before it, pruning the log', async () => {
        const g = await mailboxFixture(() => makeTestee({ expungeLogWindow: 10 }));
        try {
          const m = g.manager;
          const mailbox = await m.createMailbox(alice, 'INBOX');
          for (let n = 1; n <= 5; n++) {
            const stored = await g.blobs.put(MAIL_BUCKET, rfc822(n));
            await m.append(alice, mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
          }
          await m.updateFlags(alice, mailbox.id, [range(1, 1)], { mode: 'add', flags: ['\\Deleted'] });
          expect(await m.expunge(alice, mailbox.id)).toEqual([1]);
          const early = (await m.getMailboxById(mailbox.id))?.highestModSeq as number;
          expect(await m.expungedSince(alice, mailbox.id, early - 1)).toEqual([1]);
          for (let i = 0; i < 12; i++) await m.updateFlags(alice, mailbox.id, [range(2, 2)], { mode: i % 2 === 0 ? 'add' : 'remove', flags: ['$K'] });
          await m.updateFlags(alice, mailbox.id, [range(3, 3)], { mode: 'add', flags: ['\\Deleted'] });
          expect(await m.expunge(alice, mailbox.id)).toEqual([3]);
          const highest = (await m.getMailboxById(mailbox.id))?.highestModSeq as number;
          expect(highest - early).toBeGreaterThan(10);
          // Inside the window: exact.
          expect(await m.expungedSince(alice, mailbox.id, highest - 10)).toEqual([3]);
          expect(await g.mapper.expungedSince(mailbox.id, highest - 1)).toEqual([{ uid: 3, modSeq: highest }]);
          // Older than the window: unknown to the log, answered with every UID below UIDNEXT that is gone.
          expect(await g.mapper.expungedSince(mailbox.id, early - 1)).toBeNull();
          expect(await m.expungedSince(alice, mailbox.id, early - 1)).toEqual([1, 3]);
          expect(await m.expungedSince(alice, mailbox.id, 0)).toEqual([1, 3]);
        } finally {
          await g.cleanup();
        }
      });

      it('refuses a negative or fractional MODSEQ for expungedSince', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await expect(manager.expungedSince(alice, mailbox.id, -1)).rejects.toBeInstanceOf(MailboxLimitError);
        await expect(manager.expungedSince(alice, mailbox.id, 1.5)).rejects.toBeInstanceOf(MailboxLimitError);
        await expect(manager.expungedSince(alice, randomUUID(), 0)).rejects.toBeInstanceOf(MailboxNotFoundError);
      });
    });

    describe('threads', () => {
      it('puts a reply in the thread of the message it answers, and an unrelated message in its own', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const original = await manager.append(alice, mailbox.id, await request(1, {}, rfc822(1, { 'Message-ID': '<root@x>', Subject: 'Plans' })));
        const reply = await manager.append(alice, mailbox.id, await request(2, {}, rfc822(2, { 'Message-ID': '<r1@x>', 'In-Reply-To': '<root@x>', Subject: 'Re: Plans' })));
        const deeper = await manager.append(alice, mailbox.id, await request(3, {}, rfc822(3, { 'Message-ID': '<r2@x>', References: '<root@x> <r1@x>', Subject: 'RE: Fwd: plans' })));
        const other = await manager.append(alice, mailbox.id, await request(4, {}, rfc822(4, { 'Message-ID': '<o@x>', 'In-Reply-To': '<root@x>', Subject: 'Something else' })));
        expect(original.threadId).toBe(original.messageId);
        expect(reply.threadId).toBe(original.threadId);
        expect(deeper.threadId).toBe(original.threadId);
        expect(other.threadId).not.toBe(original.threadId);
      });

      it('keeps the threads of two users apart', async () => {
        const a = await manager.createMailbox(alice, 'INBOX');
        const b = await manager.createMailbox(bob, 'INBOX');
        const first = await manager.append(alice, a.id, await request(1, {}, rfc822(1, { 'Message-ID': '<t@x>', Subject: 'Hi' })));
        const theirs = await manager.append(bob, b.id, await request(2, {}, rfc822(2, { 'Message-ID': '<t2@x>', 'In-Reply-To': '<t@x>', Subject: 'Re: Hi' })));
        expect(theirs.threadId).not.toBe(first.threadId);
      });
    });

    describe('flags', () => {
      it('adds flags to a range with one new, higher MODSEQ and updates the unseen count', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await appendMany(mailbox.id, 3, 1);
        const before = await manager.getMailboxById(mailbox.id);
        const { updated, failed } = await manager.updateFlags(alice, mailbox.id, [range(1, 2)], { mode: 'add', flags: ['\\Seen'] });
        expect(failed).toEqual([]);
        expect(updated.map((m) => m.uid)).toEqual([1, 2]);
        const modSeq = updated[0].modSeq;
        expect(modSeq).toBeGreaterThan(before?.highestModSeq ?? Infinity);
        expect(updated.every((m) => m.modSeq === modSeq)).toBe(true);
        expect(await manager.getMailboxById(mailbox.id)).toMatchObject({ highestModSeq: modSeq, unseenCount: 1 });
        expect(f.bus.ofType('FlagsUpdated')).toEqual([
          expect.objectContaining({ uids: [1, 2], modSeq, updates: [expect.objectContaining({ uid: 1, oldFlags: [], newFlags: ['\\Seen'] }), expect.anything()] }),
        ]);
      });

      it('finds the first unseen message as flags, expunges and appends change it', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        expect(await manager.firstUnseenUid(mailbox.id)).toBeNull();
        await appendMany(mailbox.id, 4, 1);
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(1);
        await manager.updateFlags(alice, mailbox.id, [range(1, 2)], { mode: 'add', flags: ['\\SEEN'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(3);
        await manager.updateFlags(alice, mailbox.id, [range(3, 3)], { mode: 'add', flags: ['\\Deleted'] });
        await manager.expunge(alice, mailbox.id);
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(4);
        await manager.updateFlags(alice, mailbox.id, [ALL_UIDS], { mode: 'add', flags: ['\\Seen'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBeNull();
        await manager.updateFlags(alice, mailbox.id, [range(2, 2)], { mode: 'remove', flags: ['\\Seen'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(2);
        await manager.append(alice, mailbox.id, await request(9, { flags: ['\\Seen'] }));
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(2);
        expect(await manager.firstUnseenUid('00000000-0000-4000-8000-000000000000')).toBeNull();
      });

      it('follows one message through seen, unseen and seen again, in every flag mode', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await appendMany(mailbox.id, 3, 1);
        await manager.updateFlags(alice, mailbox.id, [range(2, 3)], { mode: 'add', flags: ['\\Seen'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(1);
        await manager.updateFlags(alice, mailbox.id, [range(1, 1)], { mode: 'replace', flags: ['\\Seen', '\\Flagged'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBeNull();
        await manager.updateFlags(alice, mailbox.id, [range(1, 1)], { mode: 'replace', flags: ['\\Flagged'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(1);
        await manager.updateFlags(alice, mailbox.id, [range(1, 1)], { mode: 'add', flags: ['\\seen'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBeNull();
        // A change that leaves \\Seen alone does not bring the message back.
        await manager.updateFlags(alice, mailbox.id, [range(1, 1)], { mode: 'remove', flags: ['\\Flagged'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBeNull();
        await manager.updateFlags(alice, mailbox.id, [range(3, 3)], { mode: 'remove', flags: ['\\Seen'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(3);
        await manager.updateFlags(alice, mailbox.id, [range(1, 1)], { mode: 'remove', flags: ['\\SEEN'] });
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(1);
      });

      it('moves on to the next unseen message when the first unseen one is expunged, and to none when it was the last', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await appendMany(mailbox.id, 5, 1);
        await manager.updateFlags(alice, mailbox.id, [range(2, 3)], { mode: 'add', flags: ['\\Seen'] });
        await manager.updateFlags(alice, mailbox.id, [range(1, 1)], { mode: 'add', flags: ['\\Deleted'] });
        await manager.expunge(alice, mailbox.id);
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(4);
        // An expunged seen message changes nothing.
        await manager.updateFlags(alice, mailbox.id, [range(2, 2)], { mode: 'add', flags: ['\\Deleted'] });
        await manager.expunge(alice, mailbox.id);
        expect(await manager.firstUnseenUid(mailbox.id)).toBe(4);
        await manager.updateFlags(alice, mailbox.id, [range(4, 5)], { mode: 'add', flags: ['\\Deleted'] });
        await manager.expunge(alice, mailbox.id);
        expect(await manager.firstUnseenUid(mailbox.id)).toBeNull();
        const deleted = await manager.createMailbox(alice, 'Gone');
        await appendMany(deleted.id, 2, 1);
        await manager.deleteMailbox(alice, 'Gone');
        expect(await manager.firstUnseenUid(deleted.id)).toBeNull();
      });

      it('gives copied and moved messages their first unseen UID in the target, and the source its next one', async () => {
        const source = await manager.createMailbox(alice, 'INBOX');
        const target = await manager.createMailbox(alice, 'Archive');
        await appendMany(source.id, 4, 1);
        await manager.updateFlags(alice, source.id, [range(1, 1), range(3, 3)], { mode: 'add', flags: ['\\Seen'] });
        await appendMany(target.id, 2, 1);
        await manager.updateFlags(alice, target.id, [ALL_UIDS], { mode: 'add', flags: ['\\Seen'] });
        // Copy of 1 (seen) and 2 (unseen): the target's UIDs 3 and 4; 4 is its first unseen.
        await manager.copyMessages(alice, source.id, [range(1, 2)], target.id);
        expect(await manager.firstUnseenUid(target.id)).toBe(4);
        expect(await manager.firstUnseenUid(source.id)).toBe(2);
        // Move of 2 (unseen) and 3 (seen): the source's first unseen is 4, the target's stays 4.
        await manager.moveMessages(alice, source.id, [range(2, 3)], target.id);
        expect(await manager.firstUnseenUid(source.id)).toBe(4);
        expect(await manager.firstUnseenUid(target.id)).toBe(4);
        await manager.updateFlags(alice, target.id, [range(4, 4)], { mode: 'add', flags: ['\\Seen'] });
        // The moved unseen message (UID 5 in the target) is the next one.
        expect(await manager.firstUnseenUid(target.id)).toBe(5);
        await manager.moveMessages(alice, source.id, [ALL_UIDS], target.id);
        expect(await manager.firstUnseenUid(source.id)).toBeNull();
        expect(await manager.firstUnseenUid(target.id)).toBe(5);
      });

      it('removes and replaces flags, and changes nothing (no MODSEQ) when nothing changes', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await manager.append(alice, mailbox.id, await request(1, { flags: ['$Label1', '\\Flagged'] }));
        const removed = await manager.updateFlags(alice, mailbox.id, [ALL_UIDS], { mode: 'remove', flags: ['\\flagged'] });
        expect(removed.updated[0].flags).toEqual(['$Label1']);
        const replaced = await manager.updateFlags(alice, mailbox.id, [ALL_UIDS], { mode: 'replace', flags: ['\\Answered', '\\Seen'] });
        expect([...replaced.updated[0].flags].sort()).toEqual(['\\Answered', '\\Seen']);
        const highest = (await manager.getMailboxById(mailbox.id))?.highestModSeq;
        expect((await manager.updateFlags(alice, mailbox.id, [ALL_UIDS], { mode: 'add', flags: ['\\Seen'] })).updated).toEqual([]);
        expect((await manager.getMailboxById(mailbox.id))?.highestModSeq).toBe(highest);
        expect((await manager.getMailboxById(mailbox.id))?.unseenCount).toBe(0);
      });

      it('applies UNCHANGEDSINCE: messages changed after it are reported, not modified', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        const [one, two] = await appendMany(mailbox.id, 2, 1);
        const touched = await manager.updateFlags(alice, mailbox.id, [range(2, 2)], { mode: 'add', flags: ['$Work'] });
        const result = await manager.updateFlags(alice, mailbox.id, [ALL_UIDS], { mode: 'add', flags: ['\\Flagged'], unchangedSince: two.modSeq });
        expect(result.failed).toEqual([2]);
        expect(result.updated.map((m) => m.uid)).toEqual([1]);
        const [stored2] = await collect(manager.getMessages(alice, mailbox.id, [range(2, 2)]));
        expect(stored2.flags).toEqual(['$Work']);
        expect(stored2.modSeq).toBe(touched.updated[0].modSeq);
        expect(one.uid).toBe(1);
        await expect(manager.updateFlags(alice, mailbox.id, [ALL_UIDS], { mode: 'add', flags: ['\\Seen'], unchangedSince: -1 })).rejects.toBeInstanceOf(MailboxLimitError);
      });

      it('keeps MODSEQ strictly increasing under concurrent flag updates, losing no flag', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await manager.append(alice, mailbox.id, await request(1));
        const keywords = Array.from({ length: 10 }, (_, i) => `$K${i}`);
        const results = await Promise.all(keywords.map((k) => manager.updateFlags(alice, mailbox.id, [ALL_UIDS], { mode: 'add', flags: [k] })));
        const modSeqs = results.map((r) => r.updated[0].modSeq);
        expect(new Set(modSeqs).size).toBe(10);
        const [stored] = await collect(manager.getMessages(alice, mailbox.id, [ALL_UIDS]));
        expect([...stored.flags].sort()).toEqual([...keywords].sort());
        expect(stored.modSeq).toBe(Math.max(...modSeqs));
        expect((await manager.getMailboxById(mailbox.id))?.highestModSeq).toBe(Math.max(...modSeqs));
      });

      it('lists messages changed since a MODSEQ, and only those', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await appendMany(mailbox.id, 5, 1);
        const mark = (await manager.getMailboxById(mailbox.id))?.highestModSeq as number;
        await manager.updateFlags(alice, mailbox.id, [range(2, 2)], { mode: 'add', flags: ['\\Seen'] });
        await manager.updateFlags(alice, mailbox.id, [range(4, 4)], { mode: 'add', flags: ['\\Seen'] });
        await manager.updateFlags(alice, mailbox.id, [range(2, 2)], { mode: 'add', flags: ['\\Flagged'] });
        const changed = await collect(manager.changedSince(alice, mailbox.id, mark));
        expect(changed.map((m) => m.uid)).toEqual([4, 2]);
        expect(await collect(manager.changedSince(alice, mailbox.id, (await manager.getMailboxById(mailbox.id))?.highestModSeq as number))).toEqual([]);
      });

      it('keeps the legacy addFlags of the IMAP first slice working', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await manager.append(alice, mailbox.id, await request(1));
        const changed = await manager.addFlags(mailbox.id, ALL_UIDS, ['\\Seen']);
        expect(changed.map((m) => [m.uid, m.flags])).toEqual([[1, ['\\Seen']]]);
      });
    });

    describe('expunge, copy and move', () => {
      it('expunges only \\Deleted messages and records them for VANISHED', async () => {
        const mailbox = await manager.createMailbox(alice, 'INBOX');
        await appendMany(mailbox.id, 4, 1);
        const mark = (await manager.getMailboxById(mailbox.id))?.highestModSeq as number;
        await manager.updateFlags(alice, mailbox.id, [range(2, 3)], { mode: 'add', flags: ['\\Deleted'] });
        expect(await manager.expunge(alice, mailbox.id, [range(3, 4)])).toEqual([3]);
        expect(await manager.expunge(alice, mailbox.id)).toEqual([2]);
        expect(await manager.expunge(alice, mailbox.id)).toEqual([]);
        expect(await uidsOf(mailbox.id)).toEqual([1, 4]);
        expect(await manager.expungedSince(alice, mailbox.id, mark)).toEqual([2, 3]);
        expect(await manager.expungedSince(alice, mailbox.id, (await manager.getMailboxById(mailbox.id))?.highestModSeq as number)).toEqual([]);
        expect(await manager.getMailboxById(mailbox.id)).toMatchObject({ messageCount: 2, unseenCount: 2 });
        const expunged = f.bus.ofType('Expunged');
        expect(expunged.map((e) => e.uids)).toEqual([[3], [2]]);
        expect(expunged[1].modSeq).toBeGreaterThan(expunged[0].modSeq);
      });

      it('copies with new UIDs, the same MessageId and thread, and the flags', async () => {
        const source = await manager.createMailbox(alice, 'INBOX');
        const target = await manager.createMailbox(alice, 'Archive');
        await manager.append(alice, target.id, await request(9));
        const [m1, m2] = await appendMany(source.id, 2, 1, { flags: ['$Keep'] });
        const mapping = await manager.copyMessages(alice, source.id, [ALL_UIDS], target.id);
        expect(mapping).toEqual([
          { sourceUid: 1, uid: 2 },
          { sourceUid: 2, uid: 3 },
        ]);
        const copies = await collect(manager.getMessages(alice, target.id, [range(2, 3)]));
        expect(copies.map((m) => [m.messageId, m.threadId, m.flags])).toEqual([
          [m1.messageId, m1.threadId, ['$Keep']],
          [m2.messageId, m2.threadId, ['$Keep']],
        ]);
        expect(await uidsOf(source.id)).toEqual([1, 2]);
        expect((await manager.getMessageLocations(alice, m1.messageId)).map((l) => l.mailboxId).sort()).toEqual([source.id, target.id].sort());
        expect(await manager.getMailboxById(target.id)).toMatchObject({ messageCount: 3, uidNext: 4 });
      });

      it('moves: the target gets the messages, the source loses them (recorded as expunged)', async () => {
        const source = await manager.createMailbox(alice, 'INBOX');
        const target = await manager.createMailbox(alice, 'Archive');
        const [m1] = await appendMany(source.id, 3, 1);
        const mark = (await manager.getMailboxById(source.id))?.highestModSeq as number;
        const mapping = await manager.moveMessages(alice, source.id, [range(1, 2)], target.id);
        expect(mapping).toEqual([
          { sourceUid: 1, uid: 1 },
          { sourceUid: 2, uid: 2 },
        ]);
        expect(await uidsOf(source.id)).toEqual([3]);
        expect(await uidsOf(target.id)).toEqual([1, 2]);
        expect(await manager.expungedSince(alice, source.id, mark)).toEqual([1, 2]);
        expect(await manager.getMessageLocations(alice, m1.messageId)).toEqual([{ mailboxId: target.id, uid: 1 }]);
        expect(f.bus.ofType('MessageMoved')).toEqual([expect.objectContaining({ sourceMailboxId: source.id, mailboxId: target.id })]);
        expect(await manager.getMailboxById(source.id)).toMatchObject({ messageCount: 1 });
        await expect(manager.moveMessages(alice, source.id, [ALL_UIDS], source.id)).rejects.toBeInstanceOf(MailboxOperationError);
      });

      it('never shows a moved message in both mailboxes or in neither', async () => {
        const a = await manager.createMailbox(alice, 'A');
        const b = await manager.createMailbox(alice, 'B');
        const message = await manager.append(alice, a.id, await request(1));
        let done = false;
        const seen: number[] = [];
        const observer = (async () => {
          while (!done) {
            seen.push((await manager.getMessageLocations(alice, message.messageId)).length);
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        for (let i = 0; i < 10; i++) {
          const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
          await manager.moveMessages(alice, from.id, [ALL_UIDS], to.id);
        }
        done = true;
        await observer;
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((n) => n === 1)).toBe(true);
        expect(await uidsOf(a.id)).toHaveLength(1);
        expect(await uidsOf(b.id)).toEqual([]);
      });
    });

    describe('rights (RFC 4314)', () => {
      it("hides another user's mailbox without rights and refuses operations on it as NONEXISTENT", async () => {
        const secret = await manager.createMailbox(bob, 'Secret');
        expect(await manager.getMailbox(alice, { owner: bob, name: 'Secret' })).toBeNull();
        await expect(manager.append(alice, secret.id, await request(1))).rejects.toBeInstanceOf(MailboxNotFoundError);
        await expect(collect(manager.getMessages(alice, secret.id, [ALL_UIDS]))).rejects.toBeInstanceOf(MailboxNotFoundError);
        expect(await manager.listAccessibleMailboxes(alice)).toEqual([]);
      });

      it('shares a mailbox through its ACL: lookup and read allowed, write refused with NoRightError (NOPERM)', async () => {
        const shared = await manager.createMailbox(bob, 'Shared');
        await manager.append(bob, shared.id, await request(1));
        await manager.setRights(bob, 'Shared', alice, 'lr');
        expect(await manager.myRights(alice, { owner: bob, name: 'Shared' })).toBe('lr');
        expect(await manager.listAccessibleMailboxes(alice)).toEqual([expect.objectContaining({ namespace: '#user', rights: 'lr', mailbox: expect.objectContaining({ id: shared.id }) })]);
        expect(await collect(manager.getMessages(alice, shared.id, [ALL_UIDS]))).toHaveLength(1);
        const denied = await manager.updateFlags(alice, shared.id, [ALL_UIDS], { mode: 'add', flags: ['\\Seen'] }).catch((e: unknown) => e);
        expect(denied).toBeInstanceOf(NoRightError);
        expect(mailboxErrorCode(denied)).toBe('NOPERM');
        await expect(manager.append(alice, shared.id, await request(2))).rejects.toBeInstanceOf(NoRightError);
        await expect(manager.deleteMailbox(alice, { owner: bob, name: 'Shared' })).rejects.toBeInstanceOf(NoRightError);
        await expect(manager.getAcl(alice, { owner: bob, name: 'Shared' })).rejects.toBeInstanceOf(NoRightError);
        expect(f.bus.ofType('MailboxACLUpdated')).toEqual([expect.objectContaining({ mailboxId: shared.id, identifier: alice, rights: 'lr' })]);
      });

      it('adds, removes and denies rights; anyone and negative entries apply; the owner keeps all rights', async () => {
        await manager.createMailbox(bob, 'Team');
        const path = { owner: bob, name: 'Team' };
        await manager.setRights(bob, path, 'anyone', 'l');
        await manager.setRights(bob, path, alice, 'rsw', 'add');
        expect(await manager.myRights(alice, path)).toBe('lrsw');
        await manager.setRights(bob, path, `-${alice}`, 'w');
        expect(await manager.myRights(alice, path)).toBe('lrs');
        await manager.setRights(bob, path, alice, 's', 'remove');
        expect(await manager.getAcl(bob, path)).toEqual({ anyone: 'l', [alice]: 'rw', [`-${alice}`]: 'w' });
        expect(await manager.myRights(bob, path)).toBe('lrswipkxtean');
        await expect(manager.setRights(bob, path, bob, 'l')).rejects.toBeInstanceOf(MailboxOperationError);
        await expect(manager.setRights(bob, path, alice, 'lz')).rejects.toBeInstanceOf(InvalidInputError);
        await expect(manager.setRights(bob, path, '', 'l')).rejects.toBeInstanceOf(InvalidInputError);
        await manager.setRights(bob, path, alice, '');
        expect(await manager.getAcl(bob, path)).toEqual({ anyone: 'l', [`-${alice}`]: 'w' });
      });

      it('needs k on the parent to create in another user\'s namespace, and i/r/t/e for messages', async () => {
        await manager.createMailbox(bob, 'Projects');
        const projects = { owner: bob, name: 'Projects' };
        await expect(manager.createMailbox(alice, { owner: bob, name: 'Projects.Mine' })).rejects.toBeInstanceOf(NotFoundError);
        await manager.setRights(bob, projects, alice, 'lrk');
        const created = await manager.createMailbox(alice, { owner: bob, name: 'Projects.Mine' });
        expect(created.owner).toBe(bob);
        await expect(manager.createMailbox(alice, { owner: bob, name: 'TopLevel' })).rejects.toBeInstanceOf(NoRightError);
        const mine = await manager.createMailbox(alice, 'INBOX');
        const shared = (await manager.getMailbox(bob, 'Projects')) as { id: string };
        await manager.append(bob, shared.id, await request(1));
        // r on the source is enough to copy out; moving out needs t and e as well.
        expect(await manager.copyMessages(alice, shared.id, [ALL_UIDS], mine.id)).toHaveLength(1);
        await expect(manager.moveMessages(alice, shared.id, [ALL_UIDS], mine.id)).rejects.toBeInstanceOf(NoRightError);
        await expect(manager.copyMessages(alice, mine.id, [ALL_UIDS], shared.id)).rejects.toBeInstanceOf(NoRightError);
      });
    });

    describe('annotations (RFC 5464)', () => {
      it('stores, reads by depth and removes shared and private entries', async () => {
        await manager.createMailbox(alice, 'INBOX');
        await manager.setAnnotations(alice, 'INBOX', [
          { key: '/shared/comment', value: 'Team inbox' },
          { key: '/shared/vendor/x/a', value: '1' },
          { key: '/shared/vendor/x/a/b', value: '2' },
          { key: '/private/comment', value: 'mine' },
        ]);
        expect(await manager.getAnnotations(alice, 'INBOX', ['/shared/comment'])).toEqual([{ key: '/shared/comment', value: 'Team inbox' }]);
        expect((await manager.getAnnotations(alice, 'INBOX', ['/shared/vendor/x'], '1')).map((a) => a.key)).toEqual(['/shared/vendor/x/a']);
        expect((await manager.getAnnotations(alice, 'INBOX', ['/shared/vendor/x'], 'infinity')).map((a) => a.key)).toEqual(['/shared/vendor/x/a', '/shared/vendor/x/a/b']);
        await manager.setAnnotations(alice, 'INBOX', [{ key: '/SHARED/Comment', value: null }]);
        expect((await manager.getAnnotations(alice, 'INBOX')).map((a) => a.key)).toEqual(['/private/comment', '/shared/vendor/x/a', '/shared/vendor/x/a/b']);
      });

      it("keeps private entries per user and needs n to write a shared entry of someone else's mailbox", async () => {
        await manager.createMailbox(bob, 'Shared');
        const path = { owner: bob, name: 'Shared' };
        await manager.setRights(bob, path, alice, 'lr');
        await manager.setAnnotations(bob, path, [{ key: '/private/comment', value: "bob's" }]);
        await manager.setAnnotations(alice, path, [{ key: '/private/comment', value: "alice's" }]);
        expect(await manager.getAnnotations(alice, path)).toEqual([{ key: '/private/comment', value: "alice's" }]);
        expect(await manager.getAnnotations(bob, path)).toEqual([{ key: '/private/comment', value: "bob's" }]);
        await expect(manager.setAnnotations(alice, path, [{ key: '/shared/comment', value: 'x' }])).rejects.toBeInstanceOf(NoRightError);
      });

      it('refuses bad entry names and values over the limits, storing nothing of the command', async () => {
        await manager.createMailbox(alice, 'INBOX');
        for (const key of ['comment', '/other/x', '/shared/', '/shared//x', '/shared/a*', '/shared/a\u0001']) {
          await expect(manager.setAnnotations(alice, 'INBOX', [{ key, value: 'v' }])).rejects.toBeInstanceOf(InvalidInputError);
        }
        const big = await manager.setAnnotations(alice, 'INBOX', [{ key: '/shared/ok', value: 'v' }, { key: '/shared/big', value: 'x'.repeat(64 * 1024 + 1) }]).catch((e: unknown) => e);
        expect(mailboxErrorCode(big)).toBe('METADATA MAXSIZE');
        const many = Array.from({ length: 201 }, (_, i) => ({ key: `/shared/k${i}`, value: 'v' }));
        expect(mailboxErrorCode(await manager.setAnnotations(alice, 'INBOX', many).catch((e: unknown) => e))).toBe('METADATA TOOMANY');
        expect(await manager.getAnnotations(alice, 'INBOX')).toEqual([]);
        await expect(manager.getAnnotations(alice, 'Nope')).rejects.toBeInstanceOf(MailboxNotFoundError);
      });
    });
  });
}
