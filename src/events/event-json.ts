import type { MailboxEvent } from './api/event-bus';

/**
 * Version of the event JSON this node writes. A reader refuses other versions (the event goes
 * to the dead letters of each group instead of crashing a consumer); a later version adds a
 * reader for the new one before any node writes it.
 */
export const EVENT_JSON_VERSION = 1;

/** The event cannot be read: not JSON, an unknown version, or required fields missing. */
export class EventFormatError extends Error {}

/** `{"version":1, ...event}`. An event type must not have a field named `version` (the envelope's). */
export function serializeEvent(event: MailboxEvent): string {
  if ('version' in event) throw new TypeError(`mailbox event ${event.type} has a field named version, which the event JSON reserves`);
  return JSON.stringify({ version: EVENT_JSON_VERSION, ...event });
}

/** Parses versioned event JSON; throws EventFormatError on anything this node cannot read. */
export function deserializeEvent(text: string): MailboxEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EventFormatError('event is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new EventFormatError('event is not a JSON object');
  const { version, ...event } = parsed as Record<string, unknown>;
  if (version !== EVENT_JSON_VERSION) throw new EventFormatError(`unknown event version ${JSON.stringify(version)} (this node reads version ${EVENT_JSON_VERSION})`);
  for (const field of ['type', 'eventId', 'mailboxId'] as const) {
    if (typeof event[field] !== 'string') throw new EventFormatError(`event field ${field} is missing or not a string`);
  }
  return event as unknown as MailboxEvent;
}
