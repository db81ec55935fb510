import type { CassandraSchemaArea } from '../cassandra-schema';

/**
 * Vacation notices: `vacation` (username) → the notice, one row per user.
 * Notification registry: `vacation_notification_registry` (username) → sender, written with a
 * TTL up to the vacation's end, so answered senders are forgotten when the vacation ends.
 */
export const VACATION_SCHEMA: CassandraSchemaArea = {
  name: 'vacation',
  tables: ['vacation', 'vacation_notification_registry'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.vacation (
         username text PRIMARY KEY,
         enabled boolean,
         from_date text,
         to_date text,
         subject text,
         text_body text,
         html_body text)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.vacation_notification_registry (
         username text,
         sender text,
         PRIMARY KEY ((username), sender))`,
    ],
  ],
};
