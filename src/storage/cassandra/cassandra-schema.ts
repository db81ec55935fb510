/**
 * Schema of the distributed profile (Cassandra 5.0).
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
 * - `rrt_mappings` / `rrt_mapping_sources`, `delegation_by_base` / `delegation_by_authorized`: one
 *   table per access path, written in logged batches (see schema/rrt.ts, schema/users.ts).
 * - `mail_repository_keys` (repository) → key: listing and counting a repository is one slice;
 *   `mail_repository_mail` (repository, key) → mail JSON: one small partition per mail so a large
 *   error repository does not make one huge partition.
 */
import type { Logger } from 'pino';
import type { CassandraSession } from './cassandra-session';
import { DOMAINS_SCHEMA } from './schema/domains';
import { EVENTS_SCHEMA } from './schema/events';
import { MAILBOX_SCHEMA } from './schema/mailbox';
import { MAIL_REPOSITORY_SCHEMA } from './schema/mail-repository';
import { RRT_SCHEMA } from './schema/rrt';
import { QUOTA_SCHEMA } from './schema/quota';
import { EVENT_STORE_SCHEMA } from './schema/event-store';
import { DELEGATION_SCHEMA, LOGIN_THROTTLE_SCHEMA, USERS_SCHEMA } from './schema/users';
import { VACATION_SCHEMA } from './schema/vacation';

/**
 * One schema area per port (its own file in `schema/`): migrations are append-only per area,
 * entry `i` bringing the area from version `i` to `i + 1`; `schema_version` keeps the version
 * reached by each area. Every statement is idempotent (`IF NOT EXISTS`).
 */
export interface CassandraSchemaArea {
  name: string;
  /** Tables holding data (emptied by `truncate`). */
  tables: readonly string[];
  /** Each version: CQL statements, or data steps (idempotent too) run in order with them. */
  migrations: (keyspace: string) => (string | CassandraDataMigration)[][];
}

/** A data step of a schema version (backfill, clean-up), run by the migrating node. */
export type CassandraDataMigration = (session: CassandraSession, logger?: Logger) => Promise<void>;

export const SCHEMA_AREAS: readonly CassandraSchemaArea[] = [MAILBOX_SCHEMA, USERS_SCHEMA, DOMAINS_SCHEMA, MAIL_REPOSITORY_SCHEMA, EVENTS_SCHEMA, RRT_SCHEMA, DELEGATION_SCHEMA, LOGIN_THROTTLE_SCHEMA, QUOTA_SCHEMA, EVENT_STORE_SCHEMA, VACATION_SCHEMA];

/** Tables holding data, by the port that owns them. */
export const MAILBOX_TABLES = MAILBOX_SCHEMA.tables;
export const USER_TABLES = USERS_SCHEMA.tables;
export const DOMAIN_TABLES = DOMAINS_SCHEMA.tables;
export const MAIL_REPOSITORY_TABLES = MAIL_REPOSITORY_SCHEMA.tables;
export const RRT_TABLES = RRT_SCHEMA.tables;
export const DELEGATION_TABLES = DELEGATION_SCHEMA.tables;
export const QUOTA_TABLES = QUOTA_SCHEMA.tables;
export const EVENT_STORE_TABLES = EVENT_STORE_SCHEMA.tables;
export const DATA_TABLES: readonly string[] = SCHEMA_AREAS.flatMap((area) => area.tables);

export type DataTable = string;
