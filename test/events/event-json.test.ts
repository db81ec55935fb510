import { randomUUID } from 'node:crypto';
import type { MailboxEvent } from '../../src/events/api/event-bus';
import { EventFormatError, deserializeEvent, serializeEvent } from '../../src/events/event-json';
import { backoffMs, MAX_BACKOFF_MS } from '../../src/events/retry-policy';

describe('event JSON', () => {
  const event: MailboxEvent = { type: 'Added', eventId: randomUUID(), user: 'alice@example.com', mailboxId: randomUUID(), uids: [1, 2], modSeq: 3 };

  it('writes version 1 and reads back the same event', () => {
    const text = serializeEvent(event);
    expect(JSON.parse(text)).toEqual({ version: 1, ...event });
    expect(deserializeEvent(text)).toEqual(event);
  });

  it.each([
    ['not JSON', '{"version":1,', 'not JSON'],
    ['an array', '[1]', 'not a JSON object'],
    ['an unknown version', JSON.stringify({ version: 2, type: 'Added', eventId: 'e', mailboxId: 'm' }), 'unknown event version 2'],
    ['no version', JSON.stringify({ type: 'Added', eventId: 'e', mailboxId: 'm' }), 'unknown event version undefined'],
    ['no event id', JSON.stringify({ version: 1, type: 'Added', mailboxId: 'm' }), 'eventId'],
  ])('refuses %s with an EventFormatError', (_what, text, message) => {
    expect(() => deserializeEvent(text)).toThrow(EventFormatError);
    expect(() => deserializeEvent(text)).toThrow(message);
  });
});

describe('retry back-off', () => {
  it('doubles from the first back-off, up to its bound', () => {
    const policy = { maxRetries: 30, firstBackoffMs: 100 };
    expect([0, 1, 2, 3].map((n) => backoffMs(policy, n))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(policy, 29)).toBe(MAX_BACKOFF_MS);
  });
});

describe('event JSON envelope', () => {
  it('refuses to write an event that has a field named version', () => {
    const event = { type: 'Added', eventId: 'e', user: 'u', mailboxId: 'm', uids: [1], modSeq: 1, version: 3 } as unknown as MailboxEvent;
    expect(() => serializeEvent(event)).toThrow('reserves');
  });
});
