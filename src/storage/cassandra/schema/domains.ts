import type { CassandraSchemaArea } from '../cassandra-schema';

export const DOMAINS_SCHEMA: CassandraSchemaArea = {
  name: 'domains',
  tables: ['domains'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.domains (
         name text PRIMARY KEY)`,
    ],
  ],
};
