import type { Logger } from 'pino';
import type { EventBus, EventListener, MailboxEvent, Registration } from '../api/event-bus';

/** Single-node event bus (embedded profile): listeners run in this process. */
export class InProcessEventBus implements EventBus {
  private readonly byMailbox = new Map<string, Set<EventListener>>();

  constructor(private readonly logger: Logger) {}

  async dispatch(event: MailboxEvent): Promise<void> {
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
}
