import type { SqliteSchemaArea } from '../schema';

export const EVENTS_SCHEMA: SqliteSchemaArea = {
  name: 'events',
  migrations: [
    `
  CREATE TABLE event_dead_letters (
    group_name TEXT NOT NULL,
    insertion_id TEXT NOT NULL,
    event TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (group_name, insertion_id)
  ) WITHOUT ROWID;
    `,
  ],
};
