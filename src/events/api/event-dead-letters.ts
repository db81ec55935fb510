/**
 * Events a group listener could not handle after its retries (James' `EventDeadLetters`), kept
 * per group under an insertion id (a UUID) until an operator redelivers or deletes them. The
 * event is kept as its serialized, versioned JSON text, so an event this node cannot read (an
 * unknown version, bad JSON) is kept as received and can be redelivered after an upgrade.
 */
export interface EventDeadLetters {
  /** Stores one failed event of a group; returns its new insertion id. */
  store(group: string, eventJson: string): Promise<string>;
  /** The event JSON text, or null when there is no such dead letter. */
  get(group: string, insertionId: string): Promise<string | null>;
  /** Removes one dead letter; removing one that does not exist is not an error. */
  remove(group: string, insertionId: string): Promise<void>;
  /** Insertion ids of a group's dead letters (empty for a group without any). */
  listInsertionIds(group: string): Promise<string[]>;
  /** Groups that have at least one dead letter, sorted. */
  listGroups(): Promise<string[]>;
}

/** Syntax of group names: they name RabbitMQ queues and appear in WebAdmin URLs. */
export const GROUP_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** Syntax of insertion ids (UUIDs, as James'). */
export const INSERTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
