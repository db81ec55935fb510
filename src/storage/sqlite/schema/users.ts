import type { SqliteSchemaArea } from '../schema';

export const USERS_SCHEMA: SqliteSchemaArea = {
  name: 'users',
  migrations: [
    `
  CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL) WITHOUT ROWID;
    `,
  ],
};
