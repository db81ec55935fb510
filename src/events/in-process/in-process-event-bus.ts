import type { Logger } from 'pino';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../../core/errors';
import type { EventBus, EventListener, GroupListener, MailboxEvent, Registration } from '../api/event-bus';
import { GROUP_NAME, type EventDeadLetters } from '../api/event-dead-letters';
import { deserializeEvent, serializeEvent } from '../event-json';
import { DEFAULT_RETRY_POLICY, backoffMs, type RetryPolicy } from '../retry-policy';

export interface InProcessEventBusOptions {
  deadLetters: EventDeadLetters;
  retry?: RetryPolicy;
}

/**
 * Single-node event bus (embedded profile): listeners run in this process. Key listeners are
 * awaited by `dispatch`; group listeners run in the background with retries on timers, then
 * their failed events go to the dead letters. (An event is not durable before its group
 * listeners handled it: a process crash in between loses it, as James' in-VM bus does.)
 *
 * Listeners get the event after a round trip through its JSON, as over RabbitMQ: an event that
 * does not survive JSON (a Date, a bigint) behaves the same on both profiles, and fails here first.
 */
export class InProcessEventBus implements EventBus {
  private readonly byMailbox = new Map<string, Set<EventListener>>();
  private readonly groups = new Map<string, GroupListener>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly retry: RetryPolicy;
  private readonly deadLetters: EventDeadLetters;
  private closed = false;

  constructor(
    private readonly logger: Logger,
    options: InProcessEventBusOptions,
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.deadLetters = options.deadLetters;
  }

  async dispatch(dispatched: MailboxEvent): Promise<void> {
    const event = deserializeEvent(serializeEvent(dispatched));
    for (const listener of this.groups.values()) this.deliverToGroup(listener, event, 0);
    const listeners = this.byMailbox.get(event.mailboxId);
    if (!listeners) return;
    await Promise.all(
      [...listeners].map(async (listener) => {
        try {
          await listener.handle(event);
        } catch (err) {
          // A failing key listener (e.g. a dead IMAP connection) must not fail the mutation.
          this.logger.warn({ err, eventType: event.type }, 'mailbox listener failed');
        }
      }),
    );
  }

  async registerMailboxListener(mailboxId: string, listener: EventListener): Promise<Registration> {
    let listeners = this.byMailbox.get(mailboxId);
    if (!listeners) {
      listeners = new Set();
      this.byMailbox.set(mailboxId, listeners);
    }
    listeners.add(listener);
    return {
      unregister: async () => {
        listeners.delete(listener);
        if (listeners.size === 0) this.byMailbox.delete(mailboxId);
      },
    };
  }

  async registerGroupListener(listener: GroupListener): Promise<Registration> {
    if (!GROUP_NAME.test(listener.group)) throw new InvalidInputError(`Invalid group name: ${JSON.stringify(listener.group)}`);
    if (this.groups.has(listener.group)) throw new AlreadyExistsError(`Group ${listener.group} is already registered on this node`);
    this.groups.set(listener.group, listener);
    return {
      unregister: async () => {
        if (this.groups.get(listener.group) === listener) this.groups.delete(listener.group);
      },
    };
  }

  async reDeliver(group: string, event: MailboxEvent): Promise<void> {
    const listener = this.groups.get(group);
    // Without a listener the event would be lost; keeping it in dead letters is the caller's cue.
    if (!listener) throw new NotFoundError(`No listener of group ${group} is registered: cannot redeliver`);
    this.deliverToGroup(listener, deserializeEvent(serializeEvent(event)), 0);
  }

  /** Waits (bounded) for the group deliveries under way; pending retries are dropped. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private deliverToGroup(listener: GroupListener, event: MailboxEvent, attempt: number): void {
    if (this.closed) return;
    const run = this.attempt(listener, event, attempt).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private async attempt(listener: GroupListener, event: MailboxEvent, attempt: number): Promise<void> {
    try {
      await listener.handle(event);
      return;
    } catch (err) {
      if (attempt < this.retry.maxRetries) {
        const delay = backoffMs(this.retry, attempt);
        this.logger.warn({ err, group: listener.group, eventId: event.eventId, attempt, delayMs: delay }, 'group listener failed; retrying');
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.deliverToGroup(listener, event, attempt + 1);
        }, delay);
        this.timers.add(timer);
        return;
      }
      this.logger.error({ err, group: listener.group, eventId: event.eventId, attempts: attempt + 1 }, 'group listener failed; event stored in dead letters');
    }
    try {
      await this.deadLetters.store(listener.group, serializeEvent(event));
    } catch (err) {
      this.logger.error({ err, group: listener.group, event: serializeEvent(event) }, 'cannot store a dead letter: event lost');
    }
  }
}
