import type { SqliteSchemaArea } from '../schema';

export const USERS_SCHEMA: SqliteSchemaArea = {
  name: 'users',
  migrations: [
    `
  CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL) WITHOUT ROWID;
    `,
    `
  ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    `,
  ],
};

/** Delegation (DelegationStore): one row per (base user, authorized user); the index serves the reverse lookup. */
export const DELEGATION_SCHEMA: SqliteSchemaArea = {
  name: 'delegation',
  migrations: [
    `
  CREATE TABLE delegations (
    base_user TEXT NOT NULL,
    authorized_user TEXT NOT NULL,
    PRIMARY KEY (base_user, authorized_user)
  ) WITHOUT ROWID;
  CREATE INDEX delegations_by_authorized ON delegations (authorized_user, base_user);
    `,
  ],
};
