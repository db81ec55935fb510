import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { MailboxManager } from '../../src/mailbox/api/mailbox-manager';
import type { IndexedMessage } from '../../src/search/api/search-index';
import { SearchIndexer, SearchTextCache } from '../../src/search/search-indexer';
import { logger, mail, searchStack } from './fixture';

type Stack = Awaited<ReturnType<typeof searchStack>>;

/** The manager, with `hook` called on each search text read: `undefined` lets the read through, `null` answers "expunged". */
function withTextReads(manager: MailboxManager, hook: (user: string) => null | undefined): MailboxManager {
  return new Proxy(manager, {
    get(target, prop, receiver) {
      if (prop !== 'getSearchText') return Reflect.get(target, prop, receiver) as unknown;
      return async (user: string, messageId: string) => (hook(user) === null ? null : target.getSearchText(user, messageId));
    },
  });
}

/** One mail stored once and appended to each user's INBOX with its own Delivered-To, as LocalDelivery does. */
async function deliverCopies(stack: Stack, subject: string, body: string, users: string[]): Promise<Array<{ user: string; mailboxId: string; uid: number }>> {
  const manager = stack.backends.mailboxes;
  const blob = await stack.backends.blobs.put(MAIL_BUCKET, Buffer.from(mail(subject, body).replace(/\r?\n/g, '\r\n')));
  const copies: Array<{ user: string; mailboxId: string; uid: number }> = [];
  for (const user of users) {
    const inbox = await manager.ensureMailbox(user, 'INBOX');
    const message = await manager.appendMessage(inbox.id, { blobId: blob.blobId, size: blob.size, internalDate: new Date(), headerPrefix: Buffer.from(`Delivered-To: ${user}\r\n`) });
    copies.push({ user, mailboxId: inbox.id, uid: message.uid });
  }
  return copies;
}

describe('SearchTextCache', () => {
  it('keeps the most recently used texts within its entry bound', () => {
    const cache = new SearchTextCache(2, 1_000);
    cache.set('a', 'text a');
    cache.set('b', 'text b');
    expect(cache.get('a')).toBe('text a'); // a is now the most recent
    cache.set('c', 'text c');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('text a');
    expect(cache.get('c')).toBe('text c');
    expect(cache.size).toBe(2);
  });

  it('evicts the oldest texts past its character budget and never keeps a text larger than the budget', () => {
    const cache = new SearchTextCache(10, 10);
    cache.set('a', 'aaaa');
    cache.set('b', 'bbbb');
    cache.set('c', 'cccc');
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c')]).toEqual(['bbbb', 'cccc']);
    cache.set('huge', 'x'.repeat(11));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('replaces the text of a key without counting it twice', () => {
    const cache = new SearchTextCache(10, 8);
    cache.set('a', 'aaaa');
    cache.set('a', 'AAAA');
    cache.set('b', 'bbbb');
    expect([cache.get('a'), cache.get('b')]).toEqual(['AAAA', 'bbbb']);
  });

  it('reads a text once for the copies that ask for it at the same time', async () => {
    const cache = new SearchTextCache();
    let reads = 0;
    let release!: (text: string) => void;
    const read = () => {
      reads++;
      return new Promise<string | null>((resolve) => (release = resolve));
    };
    const asked = Promise.all([cache.textOf('blob', read), cache.textOf('blob', read), cache.textOf('blob', read)]);
    release('shared text');
    expect(await asked).toEqual(['shared text', 'shared text', 'shared text']);
    expect(reads).toBe(1);
    expect(await cache.textOf('blob', read)).toBe('shared text');
    expect(reads).toBe(1);
  });

  it('does not share a read that found nothing or failed: each waiting copy reads its own', async () => {
    const cache = new SearchTextCache();
    let settleFirst!: (text: string | null) => void;
    let failFirst!: (error: Error) => void;
    const own: string[] = [];
    const first = cache.textOf('gone', () => new Promise<string | null>((resolve) => (settleFirst = resolve)));
    const second = cache.textOf('gone', async () => {
      own.push('second');
      return 'text of the second copy';
    });
    settleFirst(null); // that copy was expunged before its text was read
    expect(await first).toBeNull();
    expect(await second).toBe('text of the second copy');
    expect(cache.get('gone')).toBe('text of the second copy');

    const failing = cache.textOf('broken', () => new Promise<string | null>((_resolve, reject) => (failFirst = reject)));
    const waiting = cache.textOf('broken', async () => {
      own.push('waiting');
      return 'read again';
    });
    failFirst(new Error('store unavailable'));
    await expect(failing).rejects.toThrow('store unavailable');
    expect(await waiting).toBe('read again');
    expect(own).toEqual(['second', 'waiting']);
  });

  it('keeps an empty text (a message without text parts) as a known text', () => {
    const cache = new SearchTextCache();
    cache.set('a', '');
    expect(cache.get('a')).toBe('');
  });
});

describe('SearchIndexer with the recipients\' copies of one delivery', () => {
  it('reads the shared search text once, skips a copy expunged before its text was read, and finds every copy by its body', async () => {
    const stack = await searchStack();
    try {
      // The stack's own indexer is replaced by one whose manager counts the text reads.
      await stack.stopIndexer();
      const manager = stack.backends.mailboxes;
      const reads: string[] = [];
      let answerNullOnce = false;
      const counting = withTextReads(manager, (user) => {
        reads.push(user);
        if (!answerNullOnce) return undefined;
        answerNullOnce = false;
        return null; // as when the copy was expunged before the indexer read it
      });
      const indexer = new SearchIndexer({ index: stack.index, mailboxes: counting, logger });
      const copies = await deliverCopies(stack, 'team news', 'the quarterly body of the delivery', ['u1@example.com', 'u2@example.com', 'u3@example.com', 'u4@example.com']);

      // The first read finds nothing (expunged meanwhile): that copy is skipped, nothing is
      // remembered, and the next copy reads the text; the last two take it from the cache.
      answerNullOnce = true;
      const indexed = [];
      for (const copy of copies) indexed.push(await indexer.indexMessages(copy.user, copy.mailboxId, [copy.uid]));
      expect(indexed).toEqual([0, 1, 1, 1]);
      expect(reads).toEqual(['u1@example.com', 'u2@example.com']);

      const rest = copies.slice(1);
      const hits = await stack.index.search({ mailboxIds: copies.map((c) => c.mailboxId), criterion: { type: 'body', value: 'quarterly body' } });
      expect(hits.map((h) => h.mailboxId).sort()).toEqual(rest.map((c) => c.mailboxId).sort());
      // Indexed again (the event redelivered), the skipped copy shares the content with its body.
      expect(await indexer.indexMessages(copies[0].user, copies[0].mailboxId, [copies[0].uid])).toBe(1);
      expect(reads).toHaveLength(2);
      const all = await stack.index.search({ mailboxIds: copies.map((c) => c.mailboxId), criterion: { type: 'body', value: 'quarterly body' } });
      expect(all).toHaveLength(4);
      for (const copy of copies) {
        const own = await stack.index.search({ mailboxIds: copies.map((c) => c.mailboxId), criterion: { type: 'header', field: 'Delivered-To', value: copy.user } });
        expect(own.map((h) => h.mailboxId)).toEqual([copy.mailboxId]);
      }
    } finally {
      await stack.cleanup();
    }
  });
});

describe('SearchIndexer with the Added events of one delivery arriving together', () => {
  it('reads the shared search text once for all the copies and indexes each of them', async () => {
    const stack = await searchStack();
    try {
      await stack.stopIndexer();
      const manager = stack.backends.mailboxes;
      let reads = 0;
      const counting = withTextReads(manager, () => {
        reads++;
        return undefined;
      });
      const indexer = new SearchIndexer({ index: stack.index, mailboxes: counting, logger });
      const copies = await deliverCopies(stack, 'all hands', 'the together body of the delivery', ['t1@example.com', 't2@example.com', 't3@example.com', 't4@example.com', 't5@example.com']);
      const indexed = await Promise.all(copies.map((copy) => indexer.indexMessages(copy.user, copy.mailboxId, [copy.uid])));
      expect(indexed).toEqual([1, 1, 1, 1, 1]);
      expect(reads).toBe(1);
      const hits = await stack.index.search({ mailboxIds: copies.map((c) => c.mailboxId), criterion: { type: 'body', value: 'together body' } });
      expect(hits.map((h) => h.mailboxId).sort()).toEqual(copies.map((c) => c.mailboxId).sort());
    } finally {
      await stack.cleanup();
    }
  });
});

describe('SearchIndexer documents of the copies of one blob', () => {
  it('gives each copy its own document: copy fields and Delivered-To its own, the content fields those of its blob', async () => {
    const stack = await searchStack();
    try {
      await stack.stopIndexer();
      const documents: IndexedMessage[] = [];
      const recording = new Proxy(stack.index, {
        get(target, prop, receiver) {
          if (prop !== 'index') return Reflect.get(target, prop, receiver) as unknown;
          return async (docs: readonly IndexedMessage[]) => {
            documents.push(...docs.map((d) => structuredClone(d)));
            return target.index(docs);
          };
        },
      });
      const indexer = new SearchIndexer({ index: recording, mailboxes: stack.backends.mailboxes, logger });
      const first = await deliverCopies(stack, 'first subject', 'the first body', ['c1@example.com', 'c2@example.com', 'c3@example.com']);
      const second = await deliverCopies(stack, 'second subject', 'the second body', ['c1@example.com', 'c2@example.com']);
      for (const copy of [...first, ...second]) await indexer.indexMessages(copy.user, copy.mailboxId, [copy.uid]);

      expect(documents).toHaveLength(5);
      documents.forEach((doc, i) => {
        const copy = [...first, ...second][i];
        expect(doc).toMatchObject({ owner: copy.user, mailboxId: copy.mailboxId, uid: copy.uid });
        expect(doc.headers[0]).toEqual(['delivered-to', copy.user]);
        expect(doc.copyHeaders).toEqual([['delivered-to', copy.user]]);
        // Only one Delivered-To: the other copies' lines did not leak into this one's headers.
        expect(doc.headers.filter(([name]) => name === 'delivered-to')).toHaveLength(1);
        expect(doc.subject).toBe(i < 3 ? 'first subject' : 'second subject');
        expect(doc.body).toContain(i < 3 ? 'the first body' : 'the second body');
      });
      // The copies of one blob share every content field; only the first header line is their own.
      const contentOf = (doc: IndexedMessage) => ({ subject: doc.subject, from: doc.from, to: doc.to, body: doc.body, sortSubject: doc.sortSubject, sortFrom: doc.sortFrom, headers: doc.headers.slice(1), contentKey: doc.contentKey });
      expect(contentOf(documents[1])).toEqual(contentOf(documents[0]));
      expect(contentOf(documents[2])).toEqual(contentOf(documents[0]));

      // Each user's Delivered-To finds that user's copies (of both mails), and only those.
      for (const copy of first) {
        const own = await stack.index.search({ mailboxIds: first.map((c) => c.mailboxId), criterion: { type: 'header', field: 'Delivered-To', value: copy.user } });
        expect(new Set(own.map((h) => h.mailboxId))).toEqual(new Set([copy.mailboxId]));
        expect(own.map((h) => h.uid)).toContain(copy.uid);
      }
    } finally {
      await stack.cleanup();
    }
  });
});
