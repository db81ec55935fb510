import { randomUUID } from 'node:crypto';
import type { IndexedMessage, SearchIndex } from '../../src/search/api/search-index';
import { InvalidSearchQueryError, MAX_CRITERION_STRING, type Criterion, type SearchQuery } from '../../src/search/api/search-query';

export interface SearchIndexTestee {
  /** An empty index. */
  index: SearchIndex;
  cleanup(): Promise<void>;
}

const DAY = 86_400_000;

/** A document with defaults; tests override what they look at. */
export function testDocument(overrides: Partial<IndexedMessage> & { mailboxId: string; uid: number }): IndexedMessage {
  return {
    owner: 'alice@example.com',
    messageId: randomUUID(),
    threadId: randomUUID(),
    modSeq: overrides.uid,
    size: 1000,
    internalDate: Date.parse('2024-03-10T12:00:00Z'),
    sentDate: Date.parse('2024-03-10T11:00:00Z'),
    flags: [],
    hasAttachment: false,
    subject: 'Weekly report',
    from: 'Bob Martin <bob@example.org>',
    to: 'Alice <alice@example.com>',
    cc: '',
    bcc: '',
    headers: [
      ['from', 'Bob Martin <bob@example.org>'],
      ['subject', 'Weekly report'],
    ],
    body: 'Nothing to say this week.',
    attachmentNames: [],
    attachmentText: '',
    sortSubject: 'weekly report',
    sortFrom: 'bob',
    sortTo: 'alice',
    sortCc: '',
    sortDisplayFrom: 'bob martin',
    sortDisplayTo: 'alice',
    ...overrides,
  };
}

/** The SearchIndex port's behaviour (James' MessageSearchIndex contract), run against every adapter. */
export function describeSearchIndexContract(name: string, makeTestee: () => Promise<SearchIndexTestee>): void {
  describe(`SearchIndex contract: ${name}`, () => {
    let testee: SearchIndexTestee;
    let index: SearchIndex;
    let inbox: string;
    let other: string;

    const uids = async (criterion: Criterion, extra: Partial<SearchQuery> = {}): Promise<number[]> =>
      (await index.search({ mailboxIds: [inbox], criterion, ...extra })).map((h) => h.uid);

    const put = async (...docs: IndexedMessage[]): Promise<void> => {
      await index.index(docs);
      await index.refresh();
    };

    beforeEach(async () => {
      testee = await makeTestee();
      index = testee.index;
      inbox = randomUUID();
      other = randomUUID();
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('finds a word and a phrase of the body, and only the messages having it', async () => {
      await put(
        testDocument({ mailboxId: inbox, uid: 1, body: 'The quick brown fox jumps over the lazy dog' }),
        testDocument({ mailboxId: inbox, uid: 2, body: 'A slow green turtle' }),
      );
      expect(await uids({ type: 'body', value: 'fox' })).toEqual([1]);
      expect(await uids({ type: 'body', value: 'QUICK brown' })).toEqual([1]);
      expect(await uids({ type: 'body', value: 'turtle' })).toEqual([2]);
      expect(await uids({ type: 'body', value: 'elephant' })).toEqual([]);
    });

    it('matches subjects and addresses case-insensitively, by word and by part of an address', async () => {
      await put(
        testDocument({ mailboxId: inbox, uid: 1, subject: 'Invoice for March', from: 'Carol Smith <carol@shop.example>' }),
        testDocument({ mailboxId: inbox, uid: 2, subject: 'Lunch?', from: 'Dave <dave@example.net>' }),
      );
      expect(await uids({ type: 'subject', value: 'invoice' })).toEqual([1]);
      expect(await uids({ type: 'address', field: 'from', value: 'carol@shop.example' })).toEqual([1]);
      expect(await uids({ type: 'address', field: 'from', value: 'shop.example' })).toEqual([1]);
      expect(await uids({ type: 'address', field: 'from', value: 'SMITH' })).toEqual([1]);
      expect(await uids({ type: 'address', field: 'to', value: 'alice@example.com' })).toEqual([1, 2]);
      expect(await uids({ type: 'address', field: 'cc', value: 'alice' })).toEqual([]);
    });

    it('matches non-ASCII text whatever its case', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, subject: 'Réunion ÉLAN', body: 'Ça marche très bien' }));
      expect(await uids({ type: 'subject', value: 'élan' })).toEqual([1]);
      expect(await uids({ type: 'body', value: 'ÇA MARCHE' })).toEqual([1]);
    });

    it('searches any header field by name, and finds messages having the field when the value is empty', async () => {
      await put(
        testDocument({ mailboxId: inbox, uid: 1, headers: [['x-mailer', 'Postflow Mailer 2.1'], ['subject', 'a']] }),
        testDocument({ mailboxId: inbox, uid: 2, headers: [['x-spam', 'postflow'], ['subject', 'b']] }),
      );
      expect(await uids({ type: 'header', field: 'X-Mailer', value: 'postflow' })).toEqual([1]);
      expect(await uids({ type: 'header', field: 'x-mailer', value: '' })).toEqual([1]);
      expect(await uids({ type: 'header', field: 'x-mailer', value: 'ailer 2.' })).toEqual([1]);
      expect(await uids({ type: 'text', value: 'ailer 2.' })).toEqual([1]);
      expect(await uids({ type: 'header', field: 'x-spam', value: 'mailer' })).toEqual([]);
      expect(await uids({ type: 'header', field: 'x-none', value: '' })).toEqual([]);
    });

    it('TEXT looks in headers, body and attachment names', async () => {
      await put(
        testDocument({ mailboxId: inbox, uid: 1, body: 'see the quarterly numbers' }),
        testDocument({ mailboxId: inbox, uid: 2, headers: [['x-project', 'quarterly planning']] }),
        testDocument({ mailboxId: inbox, uid: 3, attachmentNames: ['quarterly.pdf'], hasAttachment: true }),
        testDocument({ mailboxId: inbox, uid: 4 }),
      );
      expect(await uids({ type: 'text', value: 'quarterly' })).toEqual([1, 2, 3]);
      expect(await uids({ type: 'attachmentName', value: 'quarterly.pdf' })).toEqual([3]);
      expect(await uids({ type: 'hasAttachment', value: true })).toEqual([3]);
      expect(await uids({ type: 'hasAttachment', value: false })).toEqual([1, 2, 4]);
    });

    it('filters on flags, and sees flag changes; a late older change does not undo a newer one', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, flags: ['\\Seen', 'Work'] }), testDocument({ mailboxId: inbox, uid: 2, modSeq: 2 }));
      expect(await uids({ type: 'flag', flag: '\\seen', present: true })).toEqual([1]);
      expect(await uids({ type: 'flag', flag: 'work', present: true })).toEqual([1]);
      expect(await uids({ type: 'flag', flag: '\\Seen', present: false })).toEqual([2]);
      await index.updateFlags(inbox, [{ uid: 2, modSeq: 10, flags: ['\\Seen'] }]);
      await index.updateFlags(inbox, [{ uid: 2, modSeq: 5, flags: [] }]);
      await index.updateFlags(inbox, [{ uid: 99, modSeq: 5, flags: ['\\Seen'] }]);
      await index.refresh();
      expect(await uids({ type: 'flag', flag: '\\Seen', present: true })).toEqual([1, 2]);
      expect(await uids({ type: 'modseq', modSeq: 10 })).toEqual([2]);
    });

    it('filters on UID ranges, size and dates', async () => {
      const base = Date.parse('2024-03-10T00:00:00Z');
      await put(
        testDocument({ mailboxId: inbox, uid: 1, size: 100, internalDate: base - DAY + 5, sentDate: null }),
        testDocument({ mailboxId: inbox, uid: 2, size: 200, internalDate: base + 5, sentDate: base + 5 }),
        testDocument({ mailboxId: inbox, uid: 3, size: 300, internalDate: base + DAY + 5, sentDate: base + DAY }),
      );
      expect(await uids({ type: 'uid', ranges: [{ from: 1, to: 1 }, { from: 3, to: 10 }] })).toEqual([1, 3]);
      expect(await uids({ type: 'size', op: 'gt', size: 200 })).toEqual([3]);
      expect(await uids({ type: 'size', op: 'ge', size: 200 })).toEqual([2, 3]);
      expect(await uids({ type: 'size', op: 'lt', size: 200 })).toEqual([1]);
      expect(await uids({ type: 'day', field: 'internal', op: 'on', day: '2024-03-10' })).toEqual([2]);
      expect(await uids({ type: 'day', field: 'internal', op: 'before', day: '2024-03-10' })).toEqual([1]);
      expect(await uids({ type: 'day', field: 'internal', op: 'since', day: '2024-03-10' })).toEqual([2, 3]);
      // A message without a Date header matches no sent-date key, so NOT of one matches it.
      expect(await uids({ type: 'day', field: 'sent', op: 'before', day: '2024-03-11' })).toEqual([2]);
      expect(await uids({ type: 'not', criterion: { type: 'day', field: 'sent', op: 'before', day: '2024-03-11' } })).toEqual([1, 3]);
      expect(await uids({ type: 'time', field: 'internal', op: 'after', time: base })).toEqual([2, 3]);
      expect(await uids({ type: 'time', field: 'internal', op: 'before', time: base })).toEqual([1]);
    });

    it('combines criteria with AND, OR and NOT', async () => {
      await put(
        testDocument({ mailboxId: inbox, uid: 1, subject: 'alpha', flags: ['\\Seen'] }),
        testDocument({ mailboxId: inbox, uid: 2, subject: 'beta' }),
        testDocument({ mailboxId: inbox, uid: 3, subject: 'gamma', flags: ['\\Seen'] }),
      );
      const seen: Criterion = { type: 'flag', flag: '\\Seen', present: true };
      expect(await uids({ type: 'and', criteria: [seen, { type: 'subject', value: 'gamma' }] })).toEqual([3]);
      expect(await uids({ type: 'or', criteria: [{ type: 'subject', value: 'alpha' }, { type: 'subject', value: 'beta' }] })).toEqual([1, 2]);
      expect(await uids({ type: 'not', criterion: seen })).toEqual([2]);
      expect(await uids({ type: 'and', criteria: [] })).toEqual([1, 2, 3]);
      expect(await uids({ type: 'or', criteria: [] })).toEqual([]);
      expect(await uids({ type: 'none' })).toEqual([]);
    });

    it('finds messages by Email id and thread id', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, messageId: 'm-1', threadId: 't-1' }), testDocument({ mailboxId: inbox, uid: 2, messageId: 'm-2', threadId: 't-1' }));
      expect(await uids({ type: 'messageId', ids: ['m-2', 'm-9'] })).toEqual([2]);
      expect(await uids({ type: 'threadId', ids: ['t-1'] })).toEqual([1, 2]);
    });

    it('sorts by arrival, sent date, size, subject and addresses, ties by UID, with limit and offset', async () => {
      const t = Date.parse('2024-01-01T00:00:00Z');
      await put(
        testDocument({ mailboxId: inbox, uid: 1, internalDate: t + 3, sentDate: null, size: 30, sortSubject: 'b', sortFrom: 'zed', sortDisplayFrom: 'a' }),
        testDocument({ mailboxId: inbox, uid: 2, internalDate: t + 1, sentDate: t + 5, size: 10, sortSubject: 'a', sortFrom: 'amy', sortDisplayFrom: 'c' }),
        testDocument({ mailboxId: inbox, uid: 3, internalDate: t + 2, sentDate: t + 1, size: 20, sortSubject: 'b', sortFrom: 'bob', sortDisplayFrom: 'b' }),
      );
      const all: Criterion = { type: 'all' };
      expect(await uids(all, { sort: [{ field: 'arrival', reverse: false }] })).toEqual([2, 3, 1]);
      expect(await uids(all, { sort: [{ field: 'sentDate', reverse: false }] })).toEqual([3, 1, 2]);
      expect(await uids(all, { sort: [{ field: 'size', reverse: true }] })).toEqual([1, 3, 2]);
      expect(await uids(all, { sort: [{ field: 'subject', reverse: false }] })).toEqual([2, 1, 3]);
      expect(await uids(all, { sort: [{ field: 'subject', reverse: true }, { field: 'size', reverse: false }] })).toEqual([3, 1, 2]);
      expect(await uids(all, { sort: [{ field: 'from', reverse: false }] })).toEqual([2, 3, 1]);
      expect(await uids(all, { sort: [{ field: 'displayFrom', reverse: false }] })).toEqual([1, 3, 2]);
      expect(await uids(all, { sort: [{ field: 'arrival', reverse: false }], limit: 2, offset: 1 })).toEqual([3, 1]);
    });

    it('answers only from the mailboxes asked, across several of them', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, body: 'shared word' }), testDocument({ mailboxId: other, uid: 1, body: 'shared word' }));
      expect(await index.search({ mailboxIds: [inbox], criterion: { type: 'body', value: 'shared' } })).toHaveLength(1);
      const hits = await index.search({ mailboxIds: [inbox, other], criterion: { type: 'body', value: 'shared' } });
      expect(hits.map((h) => h.mailboxId).sort()).toEqual([inbox, other].sort());
      expect(await index.search({ mailboxIds: [randomUUID()], criterion: { type: 'all' } })).toEqual([]);
      const many = [...Array.from({ length: 200 }, () => randomUUID()), inbox];
      expect((await index.search({ mailboxIds: many, criterion: { type: 'body', value: 'shared' } })).map((h) => h.mailboxId)).toEqual([inbox]);
      const notOther = await index.search({ mailboxIds: [inbox, other], criterion: { type: 'not', criterion: { type: 'mailbox', ids: [other] } } });
      expect(notOther.map((h) => h.mailboxId)).toEqual([inbox]);
    });

    it('replaces a document indexed twice (a redelivered event), and deletes by UID, mailbox and owner', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, body: 'first version' }), testDocument({ mailboxId: inbox, uid: 2 }), testDocument({ mailboxId: other, uid: 1, owner: 'bob@example.com' }));
      await put(testDocument({ mailboxId: inbox, uid: 1, body: 'second version' }));
      expect(await index.count(inbox)).toBe(2);
      expect(await uids({ type: 'body', value: 'first' })).toEqual([]);
      expect(await uids({ type: 'body', value: 'second' })).toEqual([1]);
      expect(await index.indexedUids(inbox, [1, 2, 3])).toEqual([1, 2]);

      await index.delete(inbox, [2, 42]);
      await index.refresh();
      expect(await index.indexedUids(inbox, [1, 2, 3])).toEqual([1]);
      await index.deleteMailbox(inbox);
      await index.refresh();
      expect(await index.count(inbox)).toBe(0);
      expect(await index.count(other)).toBe(1);
      await index.deleteOwner?.('bob@example.com');
      await index.refresh();
      expect(await index.count(other)).toBe(0);
    });

    it('refuses malformed and oversized queries with InvalidSearchQueryError', async () => {
      await expect(index.search({ mailboxIds: [], criterion: { type: 'all' } })).rejects.toThrow(InvalidSearchQueryError);
      await expect(index.search({ mailboxIds: [inbox], criterion: { type: 'body', value: 'x'.repeat(MAX_CRITERION_STRING + 1) } })).rejects.toThrow(InvalidSearchQueryError);
      await expect(index.search({ mailboxIds: [inbox], criterion: { type: 'day', field: 'internal', op: 'on', day: '2024-13-45' } })).rejects.toThrow(InvalidSearchQueryError);
      await expect(index.search({ mailboxIds: [inbox], criterion: { type: 'header', field: 'bad name', value: 'x' } })).rejects.toThrow(InvalidSearchQueryError);
      await expect(index.search({ mailboxIds: [inbox], criterion: { type: 'or', criteria: Array.from({ length: 3000 }, () => ({ type: 'all' as const })) } })).rejects.toThrow(InvalidSearchQueryError);
      await expect(index.search({ mailboxIds: [inbox], criterion: { type: 'all' }, limit: -1 })).rejects.toThrow(InvalidSearchQueryError);
    });

    it('takes search strings with wildcard and query-syntax characters literally', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, subject: '100% off_now' }), testDocument({ mailboxId: inbox, uid: 2, subject: '1000 offers' }));
      expect(await uids({ type: 'subject', value: '100%' })).toEqual([1]);
      expect(await uids({ type: 'subject', value: 'off_now' })).toEqual([1]);
      expect(await uids({ type: 'subject', value: '*' })).toEqual([]);
      expect(await uids({ type: 'body', value: '"AND OR (' })).toEqual([]);
    });

    it('keeps the punctuation of a search string: "noon?" does not match "noon."', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, body: 'Shall we meet at noon?' }), testDocument({ mailboxId: inbox, uid: 2, body: 'Yes, noon.' }));
      expect(await uids({ type: 'body', value: 'noon?' })).toEqual([1]);
      expect(await uids({ type: 'text', value: 'noon?' })).toEqual([1]);
      expect(await uids({ type: 'body', value: 'noon' })).toEqual([1, 2]);
    });

    it('keeps copies sharing one content apart: per-copy header lines, flags and deletes', async () => {
      const contentKey = `blob-${randomUUID()}`;
      const shared = { contentKey, subject: 'Team offsite', body: 'The offsite is in Lyon this year', messageId: 'm-shared' };
      const copies = Array.from({ length: 10 }, (_, i) =>
        testDocument({
          ...shared,
          mailboxId: i % 2 === 0 ? inbox : other,
          uid: i + 1,
          headers: [['delivered-to', `user${i}@example.com`], ['from', 'Bob Martin <bob@example.org>'], ['subject', 'Team offsite']],
          copyHeaders: [['delivered-to', `user${i}@example.com`]],
        }),
      );
      await put(...copies);
      const both = async (criterion: Criterion): Promise<string[]> =>
        (await index.search({ mailboxIds: [inbox, other], criterion })).map((h) => `${h.mailboxId === inbox ? 'inbox' : 'other'}:${h.uid}`).sort();
      expect(await both({ type: 'body', value: 'lyon' })).toHaveLength(10);
      expect(await both({ type: 'header', field: 'Delivered-To', value: 'user3@example.com' })).toEqual(['other:4']);
      expect(await both({ type: 'header', field: 'delivered-to', value: '' })).toHaveLength(10);
      expect(await both({ type: 'text', value: 'user6@example' })).toEqual(['inbox:7']);
      expect(await both({ type: 'header', field: 'subject', value: 'offsite' })).toHaveLength(10);

      await index.updateFlags(inbox, [{ uid: 3, modSeq: 50, flags: ['\\Seen'] }]);
      await index.refresh();
      expect(await both({ type: 'flag', flag: '\\Seen', present: true })).toEqual(['inbox:3']);

      await index.delete(inbox, [1, 3, 5, 7, 9]);
      await index.delete(other, [2, 4, 6, 8]);
      await index.refresh();
      expect(await both({ type: 'body', value: 'lyon' })).toEqual(['other:10']);
      expect(await both({ type: 'header', field: 'delivered-to', value: 'user9' })).toEqual(['other:10']);
      await index.delete(other, [10]);
      await index.refresh();
      expect(await both({ type: 'body', value: 'lyon' })).toEqual([]);
    });

    it('re-indexing a copy with another content replaces its text', async () => {
      await put(testDocument({ mailboxId: inbox, uid: 1, contentKey: 'k-old', body: 'old words' }), testDocument({ mailboxId: inbox, uid: 2, contentKey: 'k-old', body: 'old words' }));
      await put(testDocument({ mailboxId: inbox, uid: 1, contentKey: 'k-new', body: 'new words' }));
      expect(await uids({ type: 'body', value: 'old words' })).toEqual([2]);
      expect(await uids({ type: 'body', value: 'new words' })).toEqual([1]);
      await index.deleteMailbox(inbox);
      await index.refresh();
      expect(await uids({ type: 'all' })).toEqual([]);
    });

    it('reports itself healthy', async () => {
      expect((await index.checkHealth()).status).toBe('healthy');
    });
  });
}
