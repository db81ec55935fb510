import { createHash, randomUUID } from 'node:crypto';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../../src/core/errors';
import type { AppendRequest, MailboxStore, MessageMetadata, UidRange } from '../../src/mailbox/api/mailbox-store';
import { MAX_MAILBOX_NAME_LENGTH } from '../../src/mailbox/api/names';

export interface MailboxStoreTestee {
  store: MailboxStore;
  cleanup(): Promise<void>;
}

const ALL: UidRange = { from: 1, to: Number.MAX_SAFE_INTEGER };

function request(n: number, extra: Partial<AppendRequest> = {}): AppendRequest {
  return {
    blobId: createHash('sha256').update(`message ${n}`).digest('hex'),
    size: 1_000 + n,
    internalDate: new Date(Date.UTC(2024, 0, 1) + n * 1_000),
    ...extra,
  };
}

async function collect(messages: AsyncIterable<MessageMetadata>): Promise<MessageMetadata[]> {
  const out: MessageMetadata[] = [];
  for await (const message of messages) out.push(message);
  return out;
}

/** Appends `count` messages, `concurrency` at a time. */
async function appendMany(store: MailboxStore, mailboxId: string, count: number, concurrency: number): Promise<void> {
  for (let first = 0; first < count; first += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - first) }, (_, i) => first + i);
    await Promise.all(batch.map((n) => store.appendMessage(mailboxId, request(n))));
  }
}

/** The MailboxStore port's behaviour, run against every adapter (James' MailboxManagerTest). */
export function describeMailboxStoreContract(name: string, makeTestee: () => Promise<MailboxStoreTestee>): void {
  describe(`MailboxStore contract: ${name}`, () => {
    const owner = 'alice@example.com';
    let testee: MailboxStoreTestee;
    let store: MailboxStore;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.store;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    describe('mailboxes', () => {
      it('creates an empty mailbox with UIDNEXT 1, HIGHESTMODSEQ 0 and a UIDVALIDITY', async () => {
        const mailbox = await store.createMailbox(owner, 'Archive');
        expect(mailbox).toMatchObject({ owner, name: 'Archive', uidNext: 1, highestModSeq: 0, messageCount: 0 });
        expect(mailbox.uidValidity).toBeGreaterThan(0);
        expect(mailbox.uidValidity).toBeLessThan(2 ** 31);
        expect(await store.getMailbox(owner, 'Archive')).toEqual(mailbox);
        expect(await store.getMailboxById(mailbox.id)).toEqual(mailbox);
      });

      it('refuses to create a mailbox that exists with AlreadyExistsError', async () => {
        await store.createMailbox(owner, 'Archive');
        await expect(store.createMailbox(owner, 'Archive')).rejects.toBeInstanceOf(AlreadyExistsError);
        expect(await store.listMailboxes(owner)).toHaveLength(1);
      });

      it('lets exactly one of concurrent creations of one mailbox succeed', async () => {
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.createMailbox(owner, 'Race')));
        const created = results.filter((r) => r.status === 'fulfilled');
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(created).toHaveLength(1);
        expect(refused).toHaveLength(9);
        for (const r of refused) expect(r.reason).toBeInstanceOf(AlreadyExistsError);
        const listed = await store.listMailboxes(owner);
        expect(listed.map((m) => m.id)).toEqual([(created[0] as PromiseFulfilledResult<{ id: string }>).value.id]);
      });

      it('ensureMailbox returns the existing mailbox and creates a missing one once', async () => {
        const existing = await store.createMailbox(owner, 'Archive');
        expect(await store.ensureMailbox(owner, 'Archive')).toEqual(existing);
        const concurrent = await Promise.all(Array.from({ length: 5 }, () => store.ensureMailbox(owner, 'INBOX')));
        expect(new Set(concurrent.map((m) => m.id)).size).toBe(1);
        expect(await store.ensureMailbox(owner, 'INBOX')).toEqual(concurrent[0]);
        expect((await store.listMailboxes(owner)).map((m) => m.name)).toEqual(['Archive', 'INBOX']);
      });

      it('treats INBOX case-insensitively and stores it as INBOX', async () => {
        const inbox = await store.createMailbox(owner, 'inbox');
        expect(inbox.name).toBe('INBOX');
        expect((await store.getMailbox(owner, 'InBoX'))?.id).toBe(inbox.id);
        await expect(store.createMailbox(owner, 'INBOX')).rejects.toBeInstanceOf(AlreadyExistsError);
      });

      it('keeps other mailbox names case-sensitive', async () => {
        const upper = await store.createMailbox(owner, 'Sent');
        const lower = await store.createMailbox(owner, 'sent');
        expect(upper.id).not.toBe(lower.id);
        expect((await store.getMailbox(owner, 'Sent'))?.id).toBe(upper.id);
      });

      it('refuses empty, over-long and control-character names with InvalidInputError', async () => {
        for (const bad of ['', 'x'.repeat(MAX_MAILBOX_NAME_LENGTH + 1), 'a\u0000b', 'tab\there', 'new\nline']) {
          await expect(store.createMailbox(owner, bad)).rejects.toBeInstanceOf(InvalidInputError);
          await expect(store.ensureMailbox(owner, bad)).rejects.toBeInstanceOf(InvalidInputError);
        }
        expect(await store.listMailboxes(owner)).toEqual([]);
      });

      it('accepts hierarchical and non-ASCII names as given', async () => {
        const nested = await store.createMailbox(owner, 'Projects.2024.Q1');
        const accented = await store.createMailbox(owner, 'Boîte envoyée');
        expect((await store.getMailbox(owner, 'Projects.2024.Q1'))?.id).toBe(nested.id);
        expect((await store.getMailbox(owner, 'Boîte envoyée'))?.id).toBe(accented.id);
      });

      it('returns null for a mailbox that does not exist, by name or by id', async () => {
        expect(await store.getMailbox(owner, 'Nope')).toBeNull();
        expect(await store.getMailboxById(randomUUID())).toBeNull();
        expect(await store.getMailboxById('not-an-id')).toBeNull();
      });

      it("lists one owner's mailboxes in name order and nobody else's", async () => {
        await store.createMailbox(owner, 'Trash');
        await store.createMailbox(owner, 'Archive');
        await store.createMailbox(owner, 'INBOX');
        await store.createMailbox('bob@example.com', 'INBOX');
        const listed = await store.listMailboxes(owner);
        expect(listed.map((m) => m.name)).toEqual(['Archive', 'INBOX', 'Trash']);
        expect(listed.every((m) => m.owner === owner)).toBe(true);
        expect(await store.listMailboxes('nobody@example.com')).toEqual([]);
      });
    });

    describe('messages', () => {
      it('assigns increasing UIDs from 1 and bumps UIDNEXT, HIGHESTMODSEQ and the message count', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        const first = await store.appendMessage(mailbox.id, request(1));
        const second = await store.appendMessage(mailbox.id, request(2, { flags: ['\\Seen', '$Label1'] }));
        expect(first).toMatchObject({ mailboxId: mailbox.id, uid: 1, blobId: request(1).blobId, size: request(1).size, flags: [] });
        expect(first.internalDate.getTime()).toBe(request(1).internalDate.getTime());
        expect(second.uid).toBe(2);
        expect(second.modSeq).toBeGreaterThan(first.modSeq);
        expect(first.modSeq).toBeGreaterThan(mailbox.highestModSeq);
        expect(second.messageId).not.toBe(first.messageId);
        const after = await store.getMailboxById(mailbox.id);
        expect(after).toMatchObject({ uidNext: 3, highestModSeq: second.modSeq, messageCount: 2, uidValidity: mailbox.uidValidity });
      });

      it('reads back what was appended, flags included', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        const appended = await store.appendMessage(mailbox.id, request(7, { flags: ['\\Seen', '\\Seen', '$Forwarded'] }));
        const [read] = await collect(store.listMessages(mailbox.id, ALL));
        expect({ ...read, flags: [...read.flags].sort() }).toEqual({ ...appended, flags: ['$Forwarded', '\\Seen'] });
        expect([...appended.flags].sort()).toEqual(['$Forwarded', '\\Seen']);
      });

      it('gives 20 concurrent appends 20 distinct UIDs 1..20 and distinct MODSEQs', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        const appended = await Promise.all(Array.from({ length: 20 }, (_, n) => store.appendMessage(mailbox.id, request(n))));
        expect(appended.map((m) => m.uid).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(new Set(appended.map((m) => m.modSeq)).size).toBe(20);
        expect(await store.listUids(mailbox.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(await store.getMailboxById(mailbox.id)).toMatchObject({ uidNext: 21, messageCount: 20, highestModSeq: Math.max(...appended.map((m) => m.modSeq)) });
      });

      it('stores one message when the same deliveryKey is appended twice', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        const first = await store.appendMessage(mailbox.id, request(1, { deliveryKey: 'mail-1/recipient-1' }));
        const again = await store.appendMessage(mailbox.id, request(1, { deliveryKey: 'mail-1/recipient-1' }));
        expect(again).toEqual(first);
        expect(await store.listUids(mailbox.id)).toEqual([first.uid]);
        expect((await store.getMailboxById(mailbox.id))?.messageCount).toBe(1);
      });

      it('stores one message when the same deliveryKey is appended concurrently', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        const results = await Promise.all(Array.from({ length: 5 }, () => store.appendMessage(mailbox.id, request(1, { deliveryKey: 'mail-2/r' }))));
        expect(new Set(results.map((m) => m.uid)).size).toBe(1);
        expect(new Set(results.map((m) => m.messageId)).size).toBe(1);
        expect(await collect(store.listMessages(mailbox.id, ALL))).toHaveLength(1);
        expect((await store.getMailboxById(mailbox.id))?.messageCount).toBe(1);
      });

      it('scopes a deliveryKey to its mailbox and stores each distinct key', async () => {
        const inbox = await store.createMailbox(owner, 'INBOX');
        const other = await store.createMailbox(owner, 'Other');
        await store.appendMessage(inbox.id, request(1, { deliveryKey: 'k1' }));
        await store.appendMessage(inbox.id, request(2, { deliveryKey: 'k2' }));
        await store.appendMessage(other.id, request(1, { deliveryKey: 'k1' }));
        expect(await store.listUids(inbox.id)).toHaveLength(2);
        expect(await store.listUids(other.id)).toHaveLength(1);
      });

      it('refuses to append to a mailbox that does not exist with NotFoundError', async () => {
        await expect(store.appendMessage(randomUUID(), request(1))).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.appendMessage(randomUUID(), request(1, { deliveryKey: 'k' }))).rejects.toBeInstanceOf(NotFoundError);
      });

      it('keeps the messages of each mailbox apart, each with its own UIDs', async () => {
        const inbox = await store.createMailbox(owner, 'INBOX');
        const other = await store.createMailbox(owner, 'Other');
        await store.appendMessage(inbox.id, request(1));
        await store.appendMessage(inbox.id, request(2));
        const inOther = await store.appendMessage(other.id, request(3));
        expect(inOther.uid).toBe(1);
        expect((await collect(store.listMessages(other.id, ALL))).map((m) => m.blobId)).toEqual([request(3).blobId]);
      });

      it('streams a 1:* range of 1,200 messages completely and in UID order', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        await appendMany(store, mailbox.id, 1_200, 50);
        let expectedUid = 1;
        for await (const message of store.listMessages(mailbox.id, ALL)) {
          expect(message.uid).toBe(expectedUid);
          expectedUid++;
        }
        expect(expectedUid - 1).toBe(1_200);
        expect((await store.getMailboxById(mailbox.id))?.messageCount).toBe(1_200);
      });

      it('returns only the messages of a UID range, ends included', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        await appendMany(store, mailbox.id, 10, 1);
        expect((await collect(store.listMessages(mailbox.id, { from: 3, to: 5 }))).map((m) => m.uid)).toEqual([3, 4, 5]);
        expect((await collect(store.listMessages(mailbox.id, { from: 9, to: Number.MAX_SAFE_INTEGER }))).map((m) => m.uid)).toEqual([9, 10]);
        expect(await collect(store.listMessages(mailbox.id, { from: 11, to: 20 }))).toEqual([]);
        expect(await collect(store.listMessages(mailbox.id, { from: 5, to: 4 }))).toEqual([]);
      });

      it('lists no message and no UID for an empty or unknown mailbox', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        expect(await store.listUids(mailbox.id)).toEqual([]);
        expect(await collect(store.listMessages(mailbox.id, ALL))).toEqual([]);
        expect(await store.listUids(randomUUID())).toEqual([]);
      });
    });

    describe('flags', () => {
      it('adds flags to the range and gives the changed messages one new, higher MODSEQ', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        await appendMany(store, mailbox.id, 3, 1);
        const before = await store.getMailboxById(mailbox.id);
        const changed = await store.addFlags(mailbox.id, { from: 1, to: 2 }, ['\\Seen']);
        expect(changed.map((m) => m.uid)).toEqual([1, 2]);
        const modSeq = changed[0].modSeq;
        expect(modSeq).toBeGreaterThan(before?.highestModSeq ?? Infinity);
        expect(changed.every((m) => m.modSeq === modSeq && m.flags.includes('\\Seen'))).toBe(true);
        expect((await store.getMailboxById(mailbox.id))?.highestModSeq).toBe(modSeq);
        const stored = await collect(store.listMessages(mailbox.id, ALL));
        expect(stored.map((m) => [m.uid, m.flags, m.modSeq === modSeq])).toEqual([
          [1, ['\\Seen'], true],
          [2, ['\\Seen'], true],
          [3, [], false],
        ]);
      });

      it('keeps existing flags when adding others', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        await store.appendMessage(mailbox.id, request(1, { flags: ['$Label1'] }));
        const [changed] = await store.addFlags(mailbox.id, ALL, ['\\Flagged', '\\Seen']);
        expect([...changed.flags].sort()).toEqual(['$Label1', '\\Flagged', '\\Seen']);
        const [stored] = await collect(store.listMessages(mailbox.id, ALL));
        expect([...stored.flags].sort()).toEqual(['$Label1', '\\Flagged', '\\Seen']);
      });

      it('leaves messages that already have the flags unchanged, without a new MODSEQ', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        await appendMany(store, mailbox.id, 2, 1);
        const [first] = await store.addFlags(mailbox.id, { from: 1, to: 1 }, ['\\Seen']);
        const highest = (await store.getMailboxById(mailbox.id))?.highestModSeq;
        expect(await store.addFlags(mailbox.id, { from: 1, to: 1 }, ['\\Seen'])).toEqual([]);
        expect((await store.getMailboxById(mailbox.id))?.highestModSeq).toBe(highest);
        const again = await store.addFlags(mailbox.id, ALL, ['\\Seen']);
        expect(again.map((m) => m.uid)).toEqual([2]);
        expect(again[0].modSeq).toBeGreaterThan(first.modSeq);
        const [stored] = await collect(store.listMessages(mailbox.id, { from: 1, to: 1 }));
        expect(stored.modSeq).toBe(first.modSeq);
      });

      it('bumps MODSEQ strictly on every effective change', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        await store.appendMessage(mailbox.id, request(1));
        const modSeqs: number[] = [];
        for (const flag of ['\\Seen', '\\Flagged', '\\Answered', '$Label1']) {
          const [changed] = await store.addFlags(mailbox.id, ALL, [flag]);
          modSeqs.push(changed.modSeq);
        }
        expect(modSeqs).toEqual([...modSeqs].sort((a, b) => a - b));
        expect(new Set(modSeqs).size).toBe(4);
        const [stored] = await collect(store.listMessages(mailbox.id, ALL));
        expect(stored.modSeq).toBe(modSeqs[3]);
      });

      it('changes nothing when the range holds no message', async () => {
        const mailbox = await store.createMailbox(owner, 'INBOX');
        expect(await store.addFlags(mailbox.id, ALL, ['\\Seen'])).toEqual([]);
        expect((await store.getMailboxById(mailbox.id))?.highestModSeq).toBe(0);
      });
    });
  });
}
