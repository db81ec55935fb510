import type { SqliteSchemaArea } from '../schema';

/** Event-sourced aggregates: one row per event, the primary key makes a second writer of an id fail. */
export const EVENT_STORE_SCHEMA: SqliteSchemaArea = {
  name: 'event-store',
  migrations: [
    `
  CREATE TABLE event_store (
    aggregate_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, event_id)
  ) WITHOUT ROWID;
    `,
  ],
};
