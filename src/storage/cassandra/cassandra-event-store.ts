import type { JsonValue } from '../../core/mail';
import { EventStoreConflictError, validateAppend, type EventStore, type StoredEvent } from '../../eventsourcing/api/event-store';
import type { CassandraSession } from './cassandra-session';

/** Events of one aggregate read per page. */
const PAGE_SIZE = 500;

/** EventStore over Cassandra: LWT batches within the aggregate's partition (see schema/event-store.ts). */
export class CassandraEventStore implements EventStore {
  private readonly table: string;

  constructor(private readonly session: CassandraSession) {
    this.table = session.table('event_store');
  }

  async getHistory(aggregateId: string): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for await (const row of this.session.rows(`SELECT event_id, type, payload FROM ${this.table} WHERE aggregate_id = ?`, [aggregateId], PAGE_SIZE)) {
      out.push({ aggregateId, eventId: Number(row.get('event_id')), type: row.get('type') as string, payload: JSON.parse(row.get('payload') as string) as JsonValue });
    }
    return out;
  }

  async append(events: readonly StoredEvent[]): Promise<void> {
    if (!validateAppend(events)) return;
    const insert = `INSERT INTO ${this.table} (aggregate_id, event_id, type, payload) VALUES (?, ?, ?, ?) IF NOT EXISTS`;
    const queries = events.map((e) => ({ query: insert, params: [e.aggregateId, e.eventId, e.type, JSON.stringify(e.payload)] }));
    // A conditional batch within one partition applies all its inserts or none.
    const result = await this.session.client.batch(queries, { prepare: true });
    if (!result.wasApplied()) throw new EventStoreConflictError(`Event ${events[0].eventId} of ${events[0].aggregateId} was appended by another writer`);
  }

  async remove(aggregateId: string): Promise<void> {
    await this.session.execute(`DELETE FROM ${this.table} WHERE aggregate_id = ?`, [aggregateId]);
  }
}
