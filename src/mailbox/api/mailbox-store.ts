/** The mailbox INBOX, case-insensitive per RFC 3501 §5.1. */
export const INBOX = 'INBOX';
/** Hierarchy delimiter of the personal namespace. */
export const MAILBOX_DELIMITER = '.';

export interface Mailbox {
  id: string;
  owner: string;
  name: string;
  uidValidity: number;
  /** Next UID to be assigned. */
  uidNext: number;
  highestModSeq: number;
  messageCount: number;
}

export interface MessageMetadata {
  mailboxId: string;
  uid: number;
  modSeq: number;
  /** Stable id of the message content, shared by its copies (JMAP Email/id). */
  messageId: string;
  blobId: string;
  size: number;
  internalDate: Date;
  /** System flags (`\Seen`…) and keywords. */
  flags: string[];
}

export interface AppendRequest {
  blobId: string;
  size: number;
  internalDate: Date;
  flags?: string[];
  /**
   * Idempotency key: a second append with the same key into the same mailbox returns the first
   * message instead of storing a copy (used by LocalDelivery so a retried activity delivers once).
   */
  deliveryKey?: string;
}

export interface UidRange {
  from: number;
  /** Inclusive; use Number.MAX_SAFE_INTEGER for `*`. */
  to: number;
}

/** Mailboxes and their messages (the part of James' MailboxManager/MessageManager used so far). */
export interface MailboxStore {
  /** Creates the mailbox; AlreadyExistsError when it exists. */
  createMailbox(owner: string, name: string): Promise<Mailbox>;
  /** Returns the mailbox, creating it when missing (used for INBOX at delivery). */
  ensureMailbox(owner: string, name: string): Promise<Mailbox>;
  getMailbox(owner: string, name: string): Promise<Mailbox | null>;
  getMailboxById(id: string): Promise<Mailbox | null>;
  listMailboxes(owner: string): Promise<Mailbox[]>;
  appendMessage(mailboxId: string, request: AppendRequest): Promise<MessageMetadata>;
  /** Messages in ascending UID order, streamed page by page (never the whole mailbox at once). */
  listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageMetadata>;
  /** All UIDs in ascending order (for IMAP sequence-number mapping). */
  listUids(mailboxId: string): Promise<number[]>;
  /** Adds flags to the messages of the range; returns the updated messages. */
  addFlags(mailboxId: string, range: UidRange, flags: string[]): Promise<MessageMetadata[]>;
}
