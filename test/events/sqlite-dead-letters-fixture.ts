import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteEventDeadLetters } from '../../src/storage/sqlite/sqlite-event-dead-letters';

/** A migrated SQLite database in a temporary folder and its dead-letter store. */
export function sqliteDeadLetters(): { deadLetters: SqliteEventDeadLetters; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-dead-letters-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  return {
    deadLetters: new SqliteEventDeadLetters(db),
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
