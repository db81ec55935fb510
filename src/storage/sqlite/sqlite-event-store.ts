import type Database from 'better-sqlite3';
import type { JsonValue } from '../../core/mail';
import { EventStoreConflictError, validateAppend, type EventStore, type StoredEvent } from '../../eventsourcing/api/event-store';

/** EventStore over SQLite: the primary key (aggregate, event id) refuses a second writer of an id. */
export class SqliteEventStore implements EventStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      history: db.prepare('SELECT event_id, type, payload FROM event_store WHERE aggregate_id = ? ORDER BY event_id'),
      insert: db.prepare('INSERT INTO event_store (aggregate_id, event_id, type, payload) VALUES (?, ?, ?, ?)'),
      remove: db.prepare('DELETE FROM event_store WHERE aggregate_id = ?'),
    };
  }

  async getHistory(aggregateId: string): Promise<StoredEvent[]> {
    return (this.s.history.all(aggregateId) as { event_id: number; type: string; payload: string }[]).map((row) => ({
      aggregateId,
      eventId: Number(row.event_id),
      type: row.type,
      payload: JSON.parse(row.payload) as JsonValue,
    }));
  }

  async append(events: readonly StoredEvent[]): Promise<void> {
    if (!validateAppend(events)) return;
    try {
      this.db.transaction(() => {
        for (const e of events) this.s.insert.run(e.aggregateId, e.eventId, e.type, JSON.stringify(e.payload));
      }).immediate();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new EventStoreConflictError(`Event ${events[0].eventId} of ${events[0].aggregateId} was appended by another writer`);
      }
      throw err;
    }
  }

  async remove(aggregateId: string): Promise<void> {
    this.s.remove.run(aggregateId);
  }
}
