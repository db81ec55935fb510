/**
 * Schema of the distributed profile (Cassandra 5.0). Migrations are append-only: entry `i` brings
 * the keyspace from version `i` to `i + 1`; the version reached is kept in `schema_version`.
 * Every statement is idempotent (`IF NOT EXISTS`) so a node that dies mid-migration can rerun it.
 *
 * Layout (sized for ~10 million messages on 2+ nodes):
 * - `mailbox`          id → owner, name, uid_validity. Point reads by id.
 * - `mailbox_path`     (owner) → name → id, one partition per user, names clustered: listing a
 *                      user's mailboxes is one slice. Written only with LWT (`IF NOT EXISTS`), so
 *                      two concurrent creates of one name give one winner.
 * - `mailbox_sequence` id → next_uid, highest_modseq. Written only with LWT (compare-and-set in a
 *                      retry loop, as James' UID/MODSEQ providers): UIDs and MODSEQs are allocated
 *                      exactly once cluster-wide. Never written without LWT: a plain write's client
 *                      timestamp could shadow the Paxos commits when clocks are skewed.
 * - `mailbox_counters` id → message_count (counter).
 * - `message`          (mailbox_id) → uid → metadata, one partition per mailbox clustered by UID:
 *                      UID ranges are slices, read page by page. Every write to this table carries
 *                      `USING TIMESTAMP <modseq>` (the MODSEQ allocated for that change): MODSEQs
 *                      are allocated in order per mailbox, so Cassandra's last-write-wins follows
 *                      IMAP's order of changes even when two nodes update one message at once.
 *                      A write without an explicit timestamp (microseconds since 1970) would win
 *                      over every later MODSEQ-stamped write forever: do not add one.
 * - `message_delivery` (mailbox_id, delivery_key) → uid, modseq, message_id, reserved_at, committed:
 *                      idempotent delivery (see CassandraMailboxStore.appendOnce).
 * - `users`, `domains` single-row partitions.
 * - `mail_repository_keys` (repository) → key: listing and counting a repository is one slice;
 *   `mail_repository_mail` (repository, key) → mail JSON: one small partition per mail so a large
 *   error repository does not make one huge partition.
 */
export function schemaMigrations(keyspace: string): string[][] {
  return [
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
      `CREATE TABLE IF NOT EXISTS ${keyspace}.users (
         username text PRIMARY KEY,
         password_hash text)`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.domains (
         name text PRIMARY KEY)`,
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
  ];
}

/** Tables holding data (everything but `schema_version`), by the port that owns them. */
export const MAILBOX_TABLES = ['mailbox', 'mailbox_path', 'mailbox_sequence', 'mailbox_counters', 'message', 'message_delivery'] as const;
export const USER_TABLES = ['users'] as const;
export const DOMAIN_TABLES = ['domains'] as const;
export const MAIL_REPOSITORY_TABLES = ['mail_repository_keys', 'mail_repository_mail'] as const;
export const DATA_TABLES = [...MAILBOX_TABLES, ...USER_TABLES, ...DOMAIN_TABLES, ...MAIL_REPOSITORY_TABLES] as const;

export type DataTable = (typeof DATA_TABLES)[number];
