/** Mailbox events (James `MailboxEvent`s); only those emitted so far are listed. */
export type MailboxEvent =
  | { type: 'MailboxAdded'; eventId: string; user: string; mailboxId: string; mailboxName: string }
  | { type: 'Added'; eventId: string; user: string; mailboxId: string; uids: number[]; modSeq: number }
  | { type: 'FlagsUpdated'; eventId: string; user: string; mailboxId: string; uids: number[]; modSeq: number };

export interface EventListener {
  /** Group listeners (named) run cluster-wide once per event; key listeners only for their mailbox. */
  readonly group?: string;
  handle(event: MailboxEvent): Promise<void>;
}

export interface Registration {
  unregister(): Promise<void>;
}

/**
 * Mailbox event bus. `dispatch` resolves once the event is handed over durably (in-process:
 * once delivered to local listeners; RabbitMQ: once the broker confirmed it).
 */
export interface EventBus {
  dispatch(event: MailboxEvent): Promise<void>;
  /** Key listener: receives events of one mailbox, on whichever node dispatched them. */
  registerMailboxListener(mailboxId: string, listener: EventListener): Promise<Registration>;
}
