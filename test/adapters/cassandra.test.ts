import { randomUUID } from 'node:crypto';
import { MAIL_BUCKET } from '../../src/blob/api/blob-store';
import { CassandraDomainList } from '../../src/storage/cassandra/cassandra-domain-list';
import { CassandraMailRepositoryStore } from '../../src/storage/cassandra/cassandra-mail-repository-store';
import { CassandraMailboxStore } from '../../src/storage/cassandra/cassandra-mailbox-store';
import { DOMAIN_TABLES, MAIL_REPOSITORY_TABLES, MAILBOX_TABLES, USER_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { CassandraUsersRepository } from '../../src/storage/cassandra/cassandra-users-repository';
import { describeDomainListContract } from '../contracts/domain-list.contract';
import { describeMailRepositoryStoreContract } from '../contracts/mail-repository-store.contract';
import { describeMailboxStoreContract, mailboxFixture, rfc822 } from '../contracts/mailbox-store.contract';
import { describeUsersRepositoryContract } from '../contracts/users-repository.contract';
import { noCleanup, useCassandraKeyspace } from '../helpers/store-fixtures';

// One keyspace for the whole file (DDL is slow); each test starts from truncated tables.
const keyspace = useCassandraKeyspace();

describeMailboxStoreContract('Cassandra', async (options) => {
  await keyspace.session.truncate(MAILBOX_TABLES);
  return { mapper: new CassandraMailboxStore(keyspace.session, options), cleanup: noCleanup };
});

describeUsersRepositoryContract('Cassandra', async () => {
  await keyspace.session.truncate(USER_TABLES);
  return { repository: new CassandraUsersRepository(keyspace.session), cleanup: noCleanup };
});

describeDomainListContract('Cassandra', async () => {
  await keyspace.session.truncate(DOMAIN_TABLES);
  return { domains: new CassandraDomainList(keyspace.session), cleanup: noCleanup };
});

describeMailRepositoryStoreContract('Cassandra', async () => {
  await keyspace.session.truncate(MAIL_REPOSITORY_TABLES);
  return { store: new CassandraMailRepositoryStore(keyspace.session), cleanup: noCleanup };
});

describe('Cassandra mailbox store', () => {
  const alice = 'alice@example.com';

  it('range-deletes the expunge records that fell out of the window instead of keeping them forever', async () => {
    await keyspace.session.truncate(MAILBOX_TABLES);
    const f = await mailboxFixture(async () => ({ mapper: new CassandraMailboxStore(keyspace.session, { expungeLogWindow: 5 }), cleanup: noCleanup }));
    try {
      const mailbox = await f.manager.createMailbox(alice, 'INBOX');
      const stored = await f.blobs.put(MAIL_BUCKET, rfc822(1));
      for (let i = 0; i < 10; i++) await f.manager.append(alice, mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
      for (let uid = 1; uid <= 10; uid++) {
        await f.manager.updateFlags(alice, mailbox.id, [{ from: uid, to: uid }], { mode: 'add', flags: ['\\Deleted'] });
        await f.manager.expunge(alice, mailbox.id);
      }
      const highest = (await f.manager.getMailboxById(mailbox.id))?.highestModSeq as number;
      const rows = (await keyspace.session.execute(`SELECT modseq FROM ${keyspace.session.table('message_expunged')} WHERE mailbox_id = ?`, [mailbox.id])).rows;
      const modSeqs = rows.map((row) => Number(row.get('modseq')));
      expect(modSeqs.length).toBeLessThanOrEqual(3);
      expect(modSeqs.every((modSeq) => modSeq > highest - 5)).toBe(true);
      expect(await f.manager.expungedSince(alice, mailbox.id, 0)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    } finally {
      await f.cleanup();
    }
  });

  it('still finds the threads of schema version 1 (thread_lookup) for replies', async () => {
    await keyspace.session.truncate(MAILBOX_TABLES);
    const f = await mailboxFixture(async () => ({ mapper: new CassandraMailboxStore(keyspace.session), cleanup: noCleanup }));
    try {
      const legacyThread = randomUUID();
      await keyspace.session.execute(`INSERT INTO ${keyspace.session.table('thread_lookup')} (owner, mime_message_id, thread_id, base_subject) VALUES (?, ?, ?, ?)`, [alice, 'old@x', legacyThread, 'plans']);
      const mailbox = await f.manager.createMailbox(alice, 'INBOX');
      const stored = await f.blobs.put(MAIL_BUCKET, rfc822(2, { 'In-Reply-To': '<old@x>', Subject: 'Re: Plans' }));
      const reply = await f.manager.append(alice, mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: new Date() });
      expect(reply.threadId).toBe(legacyThread);
    } finally {
      await f.cleanup();
    }
  });
});
