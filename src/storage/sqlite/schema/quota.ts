import type { SqliteSchemaArea } from '../schema';

/** Limits per scope (`scope` global/domain/user, `key` '' / domain / user) and usage per user. */
export const QUOTA_SCHEMA: SqliteSchemaArea = {
  name: 'quota',
  migrations: [
    `
  CREATE TABLE quota_limits (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    resource TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (scope, key, resource)
  ) WITHOUT ROWID;
  CREATE TABLE quota_usage (
    user TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    size INTEGER NOT NULL
  ) WITHOUT ROWID;
    `,
  ],
};
