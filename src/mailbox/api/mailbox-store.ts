import type { ParsedMessage } from '../../mime/parsed-message';

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

/** Special-use roles (RFC 6154) of the mailboxes created for a new user, plus INBOX. */
export type MailboxRole = 'inbox' | 'drafts' | 'sent' | 'trash' | 'junk' | 'archive';

/** A mailbox with all its counters (what the MailboxManager returns). */
export interface MailboxInfo extends Mailbox {
  /** Messages without `\Seen`. */
  unseenCount: number;
  /** Sum of the message sizes, in octets. */
  size: number;
  role: MailboxRole | null;
}

/** A user's messages and their octets over all their mailboxes (what quota usage is computed from). */
export interface OwnerTotals {
  messageCount: number;
  size: number;
}

export interface MessageMetadata {
  mailboxId: string;
  uid: number;
  modSeq: number;
  /** Stable id of the message content, shared by its copies (JMAP Email/id). */
  messageId: string;
  blobId: string;
  /** Octets of the message: its header prefix (if any) plus its blob. */
  size: number;
  internalDate: Date;
  /** System flags (`\Seen`…) and keywords. */
  flags: string[];
  /**
   * Header lines of this copy only (e.g. `Delivered-To: <rcpt>\r\n`), CRLF-terminated: the
   * message's content is this prefix followed by the blob's bytes, which copies of one mail share.
   * Absent: the content is the blob. Read content through `src/mailbox/message-content.ts`.
   */
  headerPrefix?: Buffer;
}

/** A message as the MailboxManager returns it. */
export interface MessageRecord extends MessageMetadata {
  /** Thread of the message (JMAP Email/threadId), shared by its copies. */
  threadId: string;
  /** When it was put into this mailbox (JMAP `savedDate`; a copy or move gets a new one). */
  savedDate: Date;
}

export interface AppendRequest {
  blobId: string;
  /** Octets of the blob (the stored size adds the prefix's). */
  size: number;
  internalDate: Date;
  /** System flags and keywords (validated: an invalid keyword is an InvalidInputError). */
  flags?: string[];
  /**
   * Idempotency key: a second append with the same key into the same mailbox returns the first
   * message instead of storing a copy (used by LocalDelivery so a retried activity delivers once).
   */
  deliveryKey?: string;
  /**
   * The parsed message, when the caller parsed it while receiving it (`parseMessage` of
   * `src/mime`). Without it the manager parses the stored blob, streaming.
   */
  parsed?: ParsedMessage;
  /**
   * Header lines put before the blob's bytes for this copy only (LocalDelivery's per-recipient
   * `Delivered-To`), so the recipients of one mail share one blob. Validated (whole CRLF header
   * lines, at most MAX_HEADER_PREFIX_BYTES): bad input is an InvalidInputError. `parsed`, when
   * given, describes the blob alone.
   */
  headerPrefix?: Buffer;
}

export interface UidRange {
  from: number;
  /** Inclusive; use Number.MAX_SAFE_INTEGER for `*`. */
  to: number;
}

/** Every UID. */
export const ALL_UIDS: UidRange = { from: 1, to: Number.MAX_SAFE_INTEGER };

/**
 * The owner-scoped part of the mailbox API that the IMAP server's first slice and LocalDelivery
 * use. Calls keyed by mailbox id act as the system (no rights checked): the caller resolved the
 * mailbox through a checked call first. `MailboxManager` extends it with the whole model.
 */
export interface MailboxStore {
  /** Creates the mailbox (and its missing parents); AlreadyExistsError when it exists. */
  createMailbox(owner: string, name: string): Promise<Mailbox>;
  /** Returns the mailbox, creating it when missing (INBOX: provisions the user's default mailboxes). */
  ensureMailbox(owner: string, name: string): Promise<Mailbox>;
  getMailbox(owner: string, name: string): Promise<Mailbox | null>;
  getMailboxById(id: string): Promise<Mailbox | null>;
  listMailboxes(owner: string): Promise<Mailbox[]>;
  appendMessage(mailboxId: string, request: AppendRequest): Promise<MessageMetadata>;
  /** Messages in ascending UID order, streamed page by page (never the whole mailbox at once). */
  listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageMetadata>;
  /** All UIDs in ascending order (for IMAP sequence-number mapping). */
  listUids(mailboxId: string): Promise<number[]>;
  /** The lowest UID of a message without \\Seen (IMAP4rev1 SELECT's `OK [UNSEEN n]`); null when every message is seen. */
  firstUnseenUid(mailboxId: string): Promise<number | null>;
  /** Adds flags to the messages of the range; returns the updated messages. */
  addFlags(mailboxId: string, range: UidRange, flags: string[]): Promise<MessageMetadata[]>;
}
