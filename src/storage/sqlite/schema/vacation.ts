import type { SqliteSchemaArea } from '../schema';

/**
 * Vacation notices (one row per user) and the notification registry (senders already answered,
 * until `expires_at` in epoch milliseconds; NULL: until the vacation changes).
 */
export const VACATION_SCHEMA: SqliteSchemaArea = {
  name: 'vacation',
  migrations: [
    `
  CREATE TABLE vacations (
    username TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    from_date TEXT,
    to_date TEXT,
    subject TEXT,
    text_body TEXT,
    html_body TEXT
  ) WITHOUT ROWID;
  CREATE TABLE vacation_notifications (
    username TEXT NOT NULL,
    sender TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (username, sender)
  ) WITHOUT ROWID;
    `,
  ],
};
