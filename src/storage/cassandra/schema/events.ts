import type { CassandraSchemaArea } from '../cassandra-schema';

/**
 * Dead letters of group listeners (James' layout): `event_dead_letters` one partition per group,
 * clustered by insertion id; `event_dead_letters_groups` names the groups that ever had one, so
 * listing groups is not a full scan (`group` is a CQL keyword, hence `group_name`).
 */
export const EVENTS_SCHEMA: CassandraSchemaArea = {
  name: 'events',
  tables: ['event_dead_letters', 'event_dead_letters_groups'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.event_dead_letters (
         group_name text,
         insertion_id uuid,
         event text,
         PRIMARY KEY ((group_name), insertion_id))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.event_dead_letters_groups (
         group_name text PRIMARY KEY)`,
    ],
  ],
};
