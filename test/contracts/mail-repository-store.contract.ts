import { randomUUID } from 'node:crypto';
import { mailKey, type MailReference } from '../../src/core/mail';
import { ADDRESS_ERROR_REPOSITORY, ERROR_REPOSITORY, type MailRepositoryStore } from '../../src/mailrepository/api/mail-repository-store';

export interface MailRepositoryStoreTestee {
  store: MailRepositoryStore;
  cleanup(): Promise<void>;
}

function mail(overrides: Partial<MailReference> = {}): MailReference {
  return {
    mailId: randomUUID(),
    name: 'split-1',
    sender: 'sender@example.org',
    recipients: ['alice@example.com', 'bob@example.com'],
    messageBlobId: 'a'.repeat(64),
    size: 1234,
    state: 'error',
    remoteAddr: '192.0.2.1',
    remoteHost: 'mx.example.org',
    authUser: null,
    receivedAt: '2024-01-01T00:00:00.000Z',
    attributes: { 'org.example.score': 4.5, tags: ['a', 'b'], nested: { ok: true, none: null } },
    errorMessage: 'Mailet ToProcessor failed',
    ...overrides,
  };
}

/** The MailRepositoryStore port's behaviour, run against every adapter (James' MailRepositoryContract). */
export function describeMailRepositoryStoreContract(name: string, makeTestee: () => Promise<MailRepositoryStoreTestee>): void {
  describe(`MailRepositoryStore contract: ${name}`, () => {
    let testee: MailRepositoryStoreTestee;
    let store: MailRepositoryStore;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.store;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('returns a stored mail with its key and the time it was stored', async () => {
      const stored = mail();
      const before = Date.now();
      await store.store(ERROR_REPOSITORY, mailKey(stored), stored);
      const got = await store.get(ERROR_REPOSITORY, mailKey(stored));
      expect(got?.key).toBe(mailKey(stored));
      expect(got?.mail).toEqual(stored);
      expect(got?.storedAt).toBeInstanceOf(Date);
      expect(got?.storedAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(got?.storedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    });

    it('returns null for a key that is not stored', async () => {
      expect(await store.get(ERROR_REPOSITORY, 'missing/key')).toBeNull();
    });

    it('lists the keys and counts the mails of a repository', async () => {
      const mails = [mail(), mail(), mail()];
      for (const m of mails) await store.store(ERROR_REPOSITORY, mailKey(m), m);
      expect([...(await store.listKeys(ERROR_REPOSITORY))].sort()).toEqual(mails.map(mailKey).sort());
      expect(await store.size(ERROR_REPOSITORY)).toBe(3);
    });

    it('keeps one entry when a key is stored twice, holding the latest mail', async () => {
      const first = mail();
      const replaced = { ...first, state: 'root', errorMessage: null };
      await store.store(ERROR_REPOSITORY, mailKey(first), first);
      await store.store(ERROR_REPOSITORY, mailKey(first), replaced);
      expect(await store.size(ERROR_REPOSITORY)).toBe(1);
      expect(await store.listKeys(ERROR_REPOSITORY)).toEqual([mailKey(first)]);
      expect((await store.get(ERROR_REPOSITORY, mailKey(first)))?.mail).toEqual(replaced);
    });

    it('removes a mail, and removing a missing key is a no-op', async () => {
      const kept = mail();
      const removed = mail();
      await store.store(ERROR_REPOSITORY, mailKey(kept), kept);
      await store.store(ERROR_REPOSITORY, mailKey(removed), removed);
      await store.remove(ERROR_REPOSITORY, mailKey(removed));
      expect(await store.get(ERROR_REPOSITORY, mailKey(removed))).toBeNull();
      expect(await store.listKeys(ERROR_REPOSITORY)).toEqual([mailKey(kept)]);
      expect(await store.size(ERROR_REPOSITORY)).toBe(1);
      await expect(store.remove(ERROR_REPOSITORY, 'missing/key')).resolves.toBeUndefined();
    });

    it('pages through the keys in ascending order', async () => {
      const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
      for (const key of [...keys].reverse()) await store.store(ERROR_REPOSITORY, key, mail());
      expect(await store.listKeys(ERROR_REPOSITORY)).toEqual(keys);
      expect(await store.listKeys(ERROR_REPOSITORY, { offset: 0, limit: 2 })).toEqual(['k1', 'k2']);
      expect(await store.listKeys(ERROR_REPOSITORY, { offset: 2, limit: 2 })).toEqual(['k3', 'k4']);
      expect(await store.listKeys(ERROR_REPOSITORY, { offset: 4 })).toEqual(['k5']);
      expect(await store.listKeys(ERROR_REPOSITORY, { offset: 10, limit: 2 })).toEqual([]);
      expect(await store.listKeys(ERROR_REPOSITORY, { after: 'k2', limit: 2 })).toEqual(['k3', 'k4']);
      expect(await store.listKeys(ERROR_REPOSITORY, { after: 'k5' })).toEqual([]);
    });

    it('keeps repositories apart', async () => {
      const m = mail();
      await store.store(ERROR_REPOSITORY, mailKey(m), m);
      expect(await store.get(ADDRESS_ERROR_REPOSITORY, mailKey(m))).toBeNull();
      expect(await store.listKeys(ADDRESS_ERROR_REPOSITORY)).toEqual([]);
      expect(await store.size(ADDRESS_ERROR_REPOSITORY)).toBe(0);
    });

    it('lists the repositories that hold mails', async () => {
      expect(await store.listRepositories()).toEqual([]);
      await store.store(ERROR_REPOSITORY, 'k1', mail());
      await store.store(ADDRESS_ERROR_REPOSITORY, 'k2', mail());
      await store.store(ERROR_REPOSITORY, 'k3', mail());
      expect(await store.listRepositories()).toEqual([ADDRESS_ERROR_REPOSITORY, ERROR_REPOSITORY].sort());
    });
  });
}
