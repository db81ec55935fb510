/**
 * Mailbox events (James `MailboxEvent`s). `user` is the mailbox owner, `mailboxId` the mailbox
 * whose key listeners receive the event. Optional fields were added after the first version of
 * the JSON shape; every producer in this code base fills them.
 */
export type MailboxEvent =
  | { type: 'MailboxAdded'; eventId: string; user: string; mailboxId: string; mailboxName: string }
  | { type: 'MailboxDeleted'; eventId: string; user: string; mailboxId: string; mailboxName: string; messageCount: number; totalSize: number }
  | { type: 'MailboxRenamed'; eventId: string; user: string; mailboxId: string; oldName: string; newName: string }
  | { type: 'MailboxACLUpdated'; eventId: string; user: string; mailboxId: string; identifier: string; rights: string }
  | { type: 'Added'; eventId: string; user: string; mailboxId: string; uids: number[]; modSeq: number; messages?: EventMessage[] }
  | { type: 'Expunged'; eventId: string; user: string; mailboxId: string; uids: number[]; modSeq: number; messageIds?: string[] }
  | { type: 'FlagsUpdated'; eventId: string; user: string; mailboxId: string; uids: number[]; modSeq: number; updates?: EventFlagUpdate[] }
  | { type: 'MessageMoved'; eventId: string; user: string; mailboxId: string; sourceMailboxId: string; messageIds: string[] };

/** A message of an Added event (James `MessageMetaData`). */
export interface EventMessage {
  uid: number;
  modSeq: number;
  messageId: string;
  threadId: string;
  size: number;
  flags: string[];
}

/** One message of a FlagsUpdated event (James `UpdatedFlags`). */
export interface EventFlagUpdate {
  uid: number;
  messageId: string;
  oldFlags: string[];
  newFlags: string[];
}

export interface EventListener {
  /** Group listeners (named) run cluster-wide once per event; key listeners only for their mailbox. */
  readonly group?: string;
  handle(event: MailboxEvent): Promise<void>;
}

/**
 * A group listener (James' `GroupMailboxListener`): each event is handled once per group across
 * the cluster, at least once, whichever node dispatched it. A failing `handle` is retried with
 * exponential back-off (bounded attempts); then the event goes to the dead letters of the group.
 * `handle` may be called for several events at once, and more than once for one event (after a
 * node or connection loss): make it idempotent.
 */
export interface GroupListener extends EventListener {
  /** Stable name of the group (`[A-Za-z0-9._-]`, at most 100 characters): it names the durable queue. */
  readonly group: string;
}

export interface Registration {
  unregister(): Promise<void>;
}

/**
 * Mailbox event bus. `dispatch` resolves once the event is handed over durably (in-process:
 * once delivered to local key listeners, group listeners run in the background; RabbitMQ: once
 * the broker confirmed it). During a broker outage `dispatch` waits for the connection up to a
 * bound, then rejects with a TemporaryError (the caller retries).
 */
export interface EventBus {
  dispatch(event: MailboxEvent): Promise<void>;
  /** Key listener: receives events of one mailbox, on whichever node dispatched them. */
  registerMailboxListener(mailboxId: string, listener: EventListener): Promise<Registration>;
  /**
   * Group listener: from now on this node takes its share of the group's events. One
   * registration per group and node (a second one is refused with an AlreadyExistsError).
   */
  registerGroupListener(listener: GroupListener): Promise<Registration>;
  /**
   * Delivers an event again to one group only (redelivery of a dead letter), with the usual
   * retries. Rejects (NotFoundError) when the group has no listener to take it.
   */
  reDeliver(group: string, event: MailboxEvent): Promise<void>;
}
