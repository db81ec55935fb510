import type { CassandraSchemaArea } from '../cassandra-schema';

/**
 * `event_store` (aggregate_id) → event_id → type, payload: one partition per aggregate, events
 * clustered by id. Appends are LWT (`IF NOT EXISTS`) batches within the partition: a second
 * writer of the same event id loses (James' CassandraEventStore).
 */
export const EVENT_STORE_SCHEMA: CassandraSchemaArea = {
  name: 'event-store',
  tables: ['event_store'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.event_store (
         aggregate_id text, event_id int, type text, payload text,
         PRIMARY KEY (aggregate_id, event_id))`,
    ],
  ],
};
