import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { EventDeadLetters } from '../../events/api/event-dead-letters';

/** Dead letters of group listeners on the embedded profile (table `event_dead_letters`). */
export class SqliteEventDeadLetters implements EventDeadLetters {
  constructor(private readonly db: Database.Database) {}

  async store(group: string, eventJson: string): Promise<string> {
    const insertionId = randomUUID();
    this.db.prepare('INSERT INTO event_dead_letters (group_name, insertion_id, event, stored_at) VALUES (?, ?, ?, ?)').run(group, insertionId, eventJson, Date.now());
    return insertionId;
  }

  async get(group: string, insertionId: string): Promise<string | null> {
    const row = this.db.prepare('SELECT event FROM event_dead_letters WHERE group_name = ? AND insertion_id = ?').get(group, insertionId) as { event: string } | undefined;
    return row?.event ?? null;
  }

  async remove(group: string, insertionId: string): Promise<void> {
    this.db.prepare('DELETE FROM event_dead_letters WHERE group_name = ? AND insertion_id = ?').run(group, insertionId);
  }

  async listInsertionIds(group: string): Promise<string[]> {
    return this.db.prepare('SELECT insertion_id FROM event_dead_letters WHERE group_name = ? ORDER BY stored_at, insertion_id').pluck().all(group) as string[];
  }

  async listGroups(): Promise<string[]> {
    return this.db.prepare('SELECT DISTINCT group_name FROM event_dead_letters ORDER BY group_name').pluck().all() as string[];
  }
}
