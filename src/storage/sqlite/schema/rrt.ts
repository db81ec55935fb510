import type { SqliteSchemaArea } from '../schema';

/**
 * Recipient rewrite table: one row per (source, type, value). The primary key serves the lookup of
 * a source (exact address, then domain); the index serves reverse lookups (sources of a mapping).
 */
export const RRT_SCHEMA: SqliteSchemaArea = {
  name: 'rrt',
  migrations: [
    `
  CREATE TABLE rrt_mappings (
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (source, type, value)
  ) WITHOUT ROWID;
  CREATE INDEX rrt_mappings_by_target ON rrt_mappings (type, value, source);
    `,
  ],
};
