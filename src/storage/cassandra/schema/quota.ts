import type { CassandraSchemaArea } from '../cassandra-schema';

/**
 * - `quota_limits` (scope, key) → resource → value: one small partition per quota scope.
 * - `quota_usage`  user → count, size: plain columns, not counters. The usage listener writes
 *   absolute values computed from the mailboxes (see src/quota/current-quota-listener.ts), which
 *   stays right under at-least-once delivery where replayed counter increments would not.
 */
export const QUOTA_SCHEMA: CassandraSchemaArea = {
  name: 'quota',
  tables: ['quota_limits', 'quota_usage'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.quota_limits (
         scope text, key text, resource text, value bigint,
         PRIMARY KEY ((scope, key), resource))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.quota_usage (
         user text PRIMARY KEY, count bigint, size bigint)`,
    ],
  ],
};
