import type { SqliteSchemaArea } from '../schema';

export const MAIL_REPOSITORY_SCHEMA: SqliteSchemaArea = {
  name: 'mail-repository',
  migrations: [
    `
  CREATE TABLE mail_repository (
    repository TEXT NOT NULL,
    key TEXT NOT NULL,
    mail TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (repository, key)
  ) WITHOUT ROWID;
    `,
  ],
};
