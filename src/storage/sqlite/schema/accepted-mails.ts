import type { SqliteSchemaArea } from '../schema';

/** Accepted mails not yet handed to Temporal (AcceptedMailJournal): the mail reference as JSON, in acceptance order. */
export const ACCEPTED_MAILS_SCHEMA: SqliteSchemaArea = {
  name: 'accepted-mails',
  migrations: [
    `
  CREATE TABLE accepted_mails (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mail_id TEXT NOT NULL UNIQUE,
    reference TEXT NOT NULL,
    accepted_at INTEGER NOT NULL
  );
    `,
  ],
};
