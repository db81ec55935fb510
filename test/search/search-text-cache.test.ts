import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import type { MailboxManager } from '../../src/mailbox/api/mailbox-manager';
import { SearchIndexer, SearchTextCache } from '../../src/search/search-indexer';
import { logger, mail, searchStack } from './fixture';

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
      const counting = new Proxy(manager, {
        get(target, prop, receiver) {
          if (prop === 'getSearchText') {
            return async (user: string, messageId: string) => {
              reads.push(user);
              if (answerNullOnce) {
                answerNullOnce = false;
                return null; // as when the copy was expunged before the indexer read it
              }
              return target.getSearchText(user, messageId);
            };
          }
          return Reflect.get(target, prop, receiver) as unknown;
        },
      }) as MailboxManager;
      const indexer = new SearchIndexer({ index: stack.index, mailboxes: counting, logger });

      const raw = Buffer.from(mail('team news', 'the quarterly body of the delivery').replace(/\r?\n/g, '\r\n'));
      const blob = await stack.backends.blobs.put(MAIL_BUCKET, raw);
      const users = ['u1@example.com', 'u2@example.com', 'u3@example.com', 'u4@example.com'];
      const copies: Array<{ user: string; mailboxId: string; uid: number }> = [];
      for (const user of users) {
        const inbox = await manager.ensureMailbox(user, 'INBOX');
        const message = await manager.appendMessage(inbox.id, { blobId: blob.blobId, size: blob.size, internalDate: new Date(), headerPrefix: Buffer.from(`Delivered-To: ${user}\r\n`) });
        copies.push({ user, mailboxId: inbox.id, uid: message.uid });
      }

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
