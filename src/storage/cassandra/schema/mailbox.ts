import { FirstUnseenIndex } from '../cassandra-first-unseen';
import { MailboxRoleClaims } from '../cassandra-mailbox-roles';
import type { CassandraSchemaArea } from '../cassandra-schema';

/**
 * Mailbox area, sized for ~10 million messages on 2+ nodes (layout and write rules in the header
 * of `cassandra-mailbox-store.ts`). Only `mailbox_path`, `mailbox_role`, `mailbox_sequence` and the
 * reservations of `message_delivery` are written with LWT.
 */
export const MAILBOX_SCHEMA: CassandraSchemaArea = {
  name: 'mailbox',
  tables: [
    'mailbox',
    'mailbox_path',
    'mailbox_role',
    'mailbox_sequence',
    'mailbox_counters',
    'message',
    'message_delivery',
    'message_modseq',
    'message_expunged',
    'message_location',
    'message_content',
    'thread_lookup',
    'thread_message',
    'mailbox_acl',
    'acl_by_identifier',
    'mailbox_annotation',
    'subscription',
    'message_first_unseen',
  ],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox (
         id uuid PRIMARY KEY,
         owner text,
         name text,
         uid_validity bigint,
         role text)`,
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
         message_count counter,
         unseen_count counter,
         total_size counter)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message (
         mailbox_id uuid,
         uid bigint,
         modseq bigint,
         message_id uuid,
         thread_id uuid,
         blob_id text,
         size bigint,
         internal_date timestamp,
         saved_date timestamp,
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
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_modseq (
         mailbox_id uuid,
         modseq bigint,
         uid bigint,
         PRIMARY KEY ((mailbox_id), modseq, uid))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_expunged (
         mailbox_id uuid,
         modseq bigint,
         uid bigint,
         PRIMARY KEY ((mailbox_id), modseq, uid))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_location (
         message_id uuid,
         mailbox_id uuid,
         uid bigint,
         PRIMARY KEY ((message_id), mailbox_id, uid))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_content (
         message_id uuid PRIMARY KEY,
         headers blob,
         summary text,
         text text)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.thread_lookup (
         owner text,
         mime_message_id text,
         thread_id uuid,
         base_subject text,
         PRIMARY KEY ((owner, mime_message_id), thread_id))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox_acl (
         mailbox_id uuid,
         identifier text,
         rights text,
         PRIMARY KEY ((mailbox_id), identifier))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.acl_by_identifier (
         identifier text,
         mailbox_id uuid,
         rights text,
         PRIMARY KEY ((identifier), mailbox_id))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox_annotation (
         mailbox_id uuid,
         key text,
         value text,
         PRIMARY KEY ((mailbox_id), key))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.subscription (
         user text,
         name text,
         PRIMARY KEY ((user), name))`,
    ],
    // 2: thread entries per message (James' ThreadDAO layout), removed with the last copy of their
    // message; the content row remembers which. `thread_lookup` (version 1) is still read, never written.
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.thread_message (
         owner text,
         mime_message_id text,
         message_id uuid,
         thread_id uuid,
         base_subject text,
         PRIMARY KEY ((owner, mime_message_id), message_id))`,
      `ALTER TABLE ${keyspace}.message_content ADD IF NOT EXISTS thread_owner text`,
      `ALTER TABLE ${keyspace}.message_content ADD IF NOT EXISTS thread_ids list<text>`,
    ],
    // 3: per-copy header prefix (LocalDelivery's Delivered-To) before the shared blob; existing rows have none.
    [`ALTER TABLE ${keyspace}.message ADD IF NOT EXISTS header_prefix blob`],
    // 4: one mailbox per (owner, special-use role), claimed by LWT (see cassandra-mailbox-roles.ts);
    // the roles of existing mailboxes are claimed, duplicates cleared (the oldest keeps it), logged.
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailbox_role (
         owner text,
         role text,
         mailbox_id uuid,
         claimed_at timestamp,
         PRIMARY KEY ((owner), role))`,
      async (session, logger) => {
        await new MailboxRoleClaims(session).claimExisting(logger);
      },
    ],
    // 5: the first unseen message in O(1) (James' firstUnseen table, see cassandra-first-unseen.ts);
    // the unseen messages stored before it are indexed by a scan of `message`. Each message read
    // leaves a tombstone ahead of the first live row, which every lookup reads through: they are
    // purged after 3 hours instead of 10 days (a row resurrected by a replica that missed the
    // delete is only a stale entry, which lookups check and skip).
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_first_unseen (
         mailbox_id uuid,
         uid bigint,
         PRIMARY KEY ((mailbox_id), uid))
       WITH CLUSTERING ORDER BY (uid ASC) AND gc_grace_seconds = 10800`,
      async (session, logger) => {
        await new FirstUnseenIndex(session).backfill(logger);
      },
    ],
  ],
};
