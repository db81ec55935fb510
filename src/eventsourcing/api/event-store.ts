import { PermanentError } from '../../core/errors';
import type { JsonValue } from '../../core/mail';

/**
 * An event-sourced store (James' EventStore): the history of an aggregate is its events in
 * `eventId` order (0, 1, 2…). Appending is optimistic: the events must continue the history
 * exactly, or the append fails with EventStoreConflictError and nothing is written, so two
 * writers deciding from the same history cannot both win.
 */
export interface StoredEvent {
  aggregateId: string;
  eventId: number;
  type: string;
  payload: JsonValue;
}

export interface EventStore {
  /** Every event of the aggregate, in `eventId` order; empty when it has none. */
  getHistory(aggregateId: string): Promise<StoredEvent[]>;
  /** Appends events with consecutive ids; all or nothing; EventStoreConflictError if one of the ids is taken. */
  append(events: readonly StoredEvent[]): Promise<void>;
  /** Removes an aggregate's history (user data deletion). */
  remove(aggregateId: string): Promise<void>;
}

/** Another writer appended the same event id first: reload the history and decide again. */
export class EventStoreConflictError extends PermanentError {}

/** Longest aggregate id (a bound on partition keys; ids embed a user address). */
export const MAX_AGGREGATE_ID_LENGTH = 512;
/** Events appended at once at most (one LWT batch on Cassandra). */
export const MAX_EVENTS_PER_APPEND = 100;

/** Checks an append: one aggregate, consecutive ids from a non-negative first id. */
export function validateAppend(events: readonly StoredEvent[]): { aggregateId: string; first: number } | null {
  if (events.length === 0) return null;
  if (events.length > MAX_EVENTS_PER_APPEND) throw new EventStoreValidationError(`At most ${MAX_EVENTS_PER_APPEND} events are appended at once`);
  const aggregateId = events[0].aggregateId;
  if (typeof aggregateId !== 'string' || aggregateId.length === 0 || aggregateId.length > MAX_AGGREGATE_ID_LENGTH) {
    throw new EventStoreValidationError(`An aggregate id is a non-empty string of at most ${MAX_AGGREGATE_ID_LENGTH} characters`);
  }
  events.forEach((event, i) => {
    if (event.aggregateId !== aggregateId) throw new EventStoreValidationError('Events appended together belong to one aggregate');
    if (!Number.isSafeInteger(event.eventId) || event.eventId < 0) throw new EventStoreValidationError('An event id is a non-negative integer');
    if (i > 0 && event.eventId !== events[i - 1].eventId + 1) throw new EventStoreValidationError('Events appended together have consecutive ids');
    if (typeof event.type !== 'string' || event.type.length === 0) throw new EventStoreValidationError('An event has a type');
  });
  return { aggregateId, first: events[0].eventId };
}

export class EventStoreValidationError extends PermanentError {}
