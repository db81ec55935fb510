import type { CassandraSchemaArea } from '../cassandra-schema';

export const MAIL_REPOSITORY_SCHEMA: CassandraSchemaArea = {
  name: 'mail-repository',
  tables: ['mail_repository_keys', 'mail_repository_mail'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mail_repository_keys (
         repository text,
         key text,
         PRIMARY KEY ((repository), key))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mail_repository_mail (
         repository text,
         key text,
         mail text,
         stored_at timestamp,
         PRIMARY KEY ((repository, key)))`,
    ],
  ],
};
