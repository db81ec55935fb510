import { CassandraDomainList } from '../../src/storage/cassandra/cassandra-domain-list';
import { CassandraMailRepositoryStore } from '../../src/storage/cassandra/cassandra-mail-repository-store';
import { CassandraMailboxStore } from '../../src/storage/cassandra/cassandra-mailbox-store';
import { DOMAIN_TABLES, MAIL_REPOSITORY_TABLES, MAILBOX_TABLES, USER_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { CassandraUsersRepository } from '../../src/storage/cassandra/cassandra-users-repository';
import { describeDomainListContract } from '../contracts/domain-list.contract';
import { describeMailRepositoryStoreContract } from '../contracts/mail-repository-store.contract';
import { describeMailboxStoreContract } from '../contracts/mailbox-store.contract';
import { describeUsersRepositoryContract } from '../contracts/users-repository.contract';
import { distributedTestConfig, requireEngines } from '../helpers/engines';

// One keyspace for the whole file (DDL is slow); each test starts from truncated tables.
const config = distributedTestConfig();
let session: CassandraSession;

beforeAll(async () => {
  await requireEngines(config, 'cassandra');
  session = await CassandraSession.connect(config.cassandra);
}, 120_000);

afterAll(async () => {
  if (!session) return;
  await session.dropKeyspace();
  await session.close();
}, 60_000);

const noCleanup = async (): Promise<void> => undefined;

describeMailboxStoreContract('Cassandra', async () => {
  await session.truncate(MAILBOX_TABLES);
  return { mapper: new CassandraMailboxStore(session), cleanup: noCleanup };
});

describeUsersRepositoryContract('Cassandra', async () => {
  await session.truncate(USER_TABLES);
  return { repository: new CassandraUsersRepository(session), cleanup: noCleanup };
});

describeDomainListContract('Cassandra', async () => {
  await session.truncate(DOMAIN_TABLES);
  return { domains: new CassandraDomainList(session), cleanup: noCleanup };
});

describeMailRepositoryStoreContract('Cassandra', async () => {
  await session.truncate(MAIL_REPOSITORY_TABLES);
  return { store: new CassandraMailRepositoryStore(session), cleanup: noCleanup };
});
