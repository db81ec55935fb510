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
    [`ALTER TABLE ${keyspace}.users ADD IF NOT EXISTS disabled boolean`],
  ],
};

/**
 * Delegation: one table per access path, both written in one logged batch.
 * - `delegation_by_base`       (base_user) → authorized_user: who may act as a user (one slice).
 * - `delegation_by_authorized` (authorized_user) → base_user: whom a user may act as (one slice).
 */
export const DELEGATION_SCHEMA: CassandraSchemaArea = {
  name: 'delegation',
  tables: ['delegation_by_base', 'delegation_by_authorized'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.delegation_by_base (
         base_user text,
         authorized_user text,
         PRIMARY KEY ((base_user), authorized_user))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.delegation_by_authorized (
         authorized_user text,
         base_user text,
         PRIMARY KEY ((authorized_user), base_user))`,
    ],
  ],
};

/**
 * Login throttle shared by the nodes: `login_failures` (key) → failure time UUIDs, each row
 * written with the throttle window as TTL (one small partition per account or remote address).
 */
export const LOGIN_THROTTLE_SCHEMA: CassandraSchemaArea = {
  name: 'login-throttle',
  tables: ['login_failures'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.login_failures (
         key text,
         at timeuuid,
         PRIMARY KEY ((key), at))`,
    ],
  ],
};
