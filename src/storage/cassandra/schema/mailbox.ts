import type { CassandraSchemaArea } from '../cassandra-schema';

export const MAILBOX_SCHEMA: CassandraSchemaArea = {
  name: 'mailbox',
  tables: ['mailbox', 'mailbox_path', 'mailbox_sequence', 'mailbox_counters', 'message', 'message_delivery'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox (
         id uuid PRIMARY KEY,
         owner text,
         name text,
         uid_validity bigint)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox_path (
         owner text,
         name text,
         mailbox_id uuid,
         PRIMARY KEY ((owner), name))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox_sequence (
         mailbox_id uuid PRIMARY KEY,
         next_uid bigint,
         highest_modseq bigint)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox_counters (
         mailbox_id uuid PRIMARY KEY,
         message_count counter)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message (
         mailbox_id uuid,
         uid bigint,
         modseq bigint,
         message_id uuid,
         blob_id text,
         size bigint,
         internal_date timestamp,
         flags set<text>,
         PRIMARY KEY ((mailbox_id), uid))
       WITH CLUSTERING ORDER BY (uid ASC)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_delivery (
         mailbox_id uuid,
         delivery_key text,
         uid bigint,
         modseq bigint,
         message_id uuid,
         reserved_at timestamp,
         committed boolean,
         PRIMARY KEY ((mailbox_id, delivery_key)))`,
    ],
  ],
};
