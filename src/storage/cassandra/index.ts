export { CassandraSession } from './cassandra-session';
export { CassandraMailboxStore } from './cassandra-mailbox-store';
export { CassandraUsersRepository } from './cassandra-users-repository';
export { CassandraDomainList } from './cassandra-domain-list';
export { CassandraMailRepositoryStore } from './cassandra-mail-repository-store';
export * from './cassandra-schema';
