import { CassandraDelegationStore } from '../../src/storage/cassandra/cassandra-delegation-store';
import { CassandraRecipientRewriteTableStore } from '../../src/storage/cassandra/cassandra-rrt-store';
import { DELEGATION_TABLES, RRT_TABLES, USER_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { CassandraUsersRepository } from '../../src/storage/cassandra/cassandra-users-repository';
import { SqliteDelegationStore } from '../../src/storage/sqlite/sqlite-delegation-store';
import { SqliteRecipientRewriteTableStore } from '../../src/storage/sqlite/sqlite-rrt-store';
import { SqliteUsersRepository } from '../../src/storage/sqlite/sqlite-users-repository';
import type { UsersRepository } from '../../src/users/api/users-repository';
import { LocalUserDirectory } from '../../src/users/local-user-directory';
import { describeDelegationStoreContract } from '../contracts/delegation-store.contract';
import { describeRrtStoreContract } from '../contracts/rrt-store.contract';
import { describeUserDirectoryContract } from '../contracts/users-directory.contract';
import { noCleanup, openTestDatabase, useCassandraKeyspace } from '../helpers/store-fixtures';

// The stores of users, delegation and recipient rewriting: every contract on SQLite and on Cassandra.

const openDatabase = () => openTestDatabase('postflow-identity-');

function localDirectoryTestee(users: UsersRepository, cleanup: () => Promise<void>) {
  const directory = new LocalUserDirectory(users);
  return {
    directory,
    async seed(accounts: Array<{ username: string; password: string }>) {
      for (const { username, password } of accounts) await directory.setPassword(username, password);
    },
    cleanup,
  };
}

describeRrtStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { store: new SqliteRecipientRewriteTableStore(db), cleanup };
});

describeDelegationStoreContract('SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return { store: new SqliteDelegationStore(db), cleanup };
});

describeUserDirectoryContract('local directory on SQLite', async () => {
  const { db, cleanup } = openDatabase();
  return localDirectoryTestee(new SqliteUsersRepository(db), cleanup);
});

describe('on Cassandra', () => {
  const keyspace = useCassandraKeyspace();

  describeRrtStoreContract('Cassandra', async () => {
    await keyspace.session.truncate(RRT_TABLES);
    return { store: new CassandraRecipientRewriteTableStore(keyspace.session), cleanup: noCleanup };
  });

  describeDelegationStoreContract('Cassandra', async () => {
    await keyspace.session.truncate(DELEGATION_TABLES);
    return { store: new CassandraDelegationStore(keyspace.session), cleanup: noCleanup };
  });

  describeUserDirectoryContract('local directory on Cassandra', async () => {
    await keyspace.session.truncate(USER_TABLES);
    return localDirectoryTestee(new CassandraUsersRepository(keyspace.session), noCleanup);
  });
});
