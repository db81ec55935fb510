import type { SqliteSchemaArea } from '../schema';

export const DOMAINS_SCHEMA: SqliteSchemaArea = {
  name: 'domains',
  migrations: [
    `
  CREATE TABLE domains (name TEXT PRIMARY KEY) WITHOUT ROWID;
    `,
  ],
};
