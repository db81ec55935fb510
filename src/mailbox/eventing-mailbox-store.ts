import { randomUUID } from 'node:crypto';
import { AlreadyExistsError } from '../core/errors';
import type { EventBus } from '../events/api/event-bus';
import type { AppendRequest, Mailbox, MailboxStore, MessageMetadata, UidRange } from './api/mailbox-store';

/** Wraps a MailboxStore adapter so every mutation dispatches its mailbox event after it is stored. */
export class EventingMailboxStore implements MailboxStore {
  constructor(
    private readonly store: MailboxStore,
    private readonly events: EventBus,
  ) {}

  async createMailbox(owner: string, name: string): Promise<Mailbox> {
    const mailbox = await this.store.createMailbox(owner, name);
    await this.events.dispatch({ type: 'MailboxAdded', eventId: randomUUID(), user: owner, mailboxId: mailbox.id, mailboxName: mailbox.name });
    return mailbox;
  }

  async ensureMailbox(owner: string, name: string): Promise<Mailbox> {
    const existing = await this.store.getMailbox(owner, name);
    if (existing) return existing;
    try {
      return await this.createMailbox(owner, name);
    } catch (err) {
      // Created concurrently by someone else, who dispatched MailboxAdded.
      if (!(err instanceof AlreadyExistsError)) throw err;
      return this.store.ensureMailbox(owner, name);
    }
  }

  getMailbox(owner: string, name: string): Promise<Mailbox | null> {
    return this.store.getMailbox(owner, name);
  }

  getMailboxById(id: string): Promise<Mailbox | null> {
    return this.store.getMailboxById(id);
  }

  listMailboxes(owner: string): Promise<Mailbox[]> {
    return this.store.listMailboxes(owner);
  }

  async appendMessage(mailboxId: string, request: AppendRequest): Promise<MessageMetadata> {
    const message = await this.store.appendMessage(mailboxId, request);
    const mailbox = await this.store.getMailboxById(mailboxId);
    await this.events.dispatch({ type: 'Added', eventId: randomUUID(), user: mailbox?.owner ?? '', mailboxId, uids: [message.uid], modSeq: message.modSeq });
    return message;
  }

  listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageMetadata> {
    return this.store.listMessages(mailboxId, range);
  }

  listUids(mailboxId: string): Promise<number[]> {
    return this.store.listUids(mailboxId);
  }

  async addFlags(mailboxId: string, range: UidRange, flags: string[]): Promise<MessageMetadata[]> {
    const changed = await this.store.addFlags(mailboxId, range, flags);
    if (changed.length > 0) {
      const mailbox = await this.store.getMailboxById(mailboxId);
      await this.events.dispatch({
        type: 'FlagsUpdated',
        eventId: randomUUID(),
        user: mailbox?.owner ?? '',
        mailboxId,
        uids: changed.map((m) => m.uid),
        modSeq: changed[0].modSeq,
      });
    }
    return changed;
  }
}
