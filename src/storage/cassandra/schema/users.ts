import type { CassandraSchemaArea } from '../cassandra-schema';

export const USERS_SCHEMA: CassandraSchemaArea = {
  name: 'users',
  tables: ['users'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.users (
         username text PRIMARY KEY,
         password_hash text)`,
    ],
  ],
};
