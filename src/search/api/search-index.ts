import type { SearchHit, SearchQuery } from './search-query';

/**
 * What the index stores for one message in one mailbox (James indexes one document per
 * mailboxId + uid: a copy is another document; a flag change updates one document).
 * Text fields hold decoded text; the adapter decides how to tokenize them.
 */
export interface IndexedMessage {
  mailboxId: string;
  uid: number;
  /** Mailbox owner (routing key of the distributed index, and what "one user" reindexing deletes). */
  owner: string;
  messageId: string;
  threadId: string;
  modSeq: number;
  size: number;
  /** Milliseconds since the epoch. */
  internalDate: number;
  /** Date header in milliseconds, null when absent or unparsable. */
  sentDate: number | null;
  flags: string[];
  hasAttachment: boolean;
  subject: string;
  /** Every address of the field as `Name <address>`, one per line. */
  from: string;
  to: string;
  cc: string;
  bcc: string;
  /** Header fields unfolded and decoded, each as [lower-case name, value]. */
  headers: Array<[string, string]>;
  /** Text of the text parts (HTML converted to text). */
  body: string;
  attachmentNames: string[];
  /** Text extracted from attachments (Tika), '' when no extractor is configured. */
  attachmentText: string;
  /** Precomputed sort values (RFC 5256 / RFC 5957), lower-case. */
  sortSubject: string;
  sortFrom: string;
  sortTo: string;
  sortCc: string;
  sortDisplayFrom: string;
  sortDisplayTo: string;
  /**
   * Identifies the content (the message's blob id): documents with the same key have the same
   * subject, addresses, body, attachments and shared headers, so an adapter may store that text
   * once, shared by the copies. Absent: the document's content is its own.
   */
  contentKey?: string;
  /**
   * Header fields of this copy only (e.g. its Delivered-To), also listed in `headers`. An adapter
   * sharing content by `contentKey` keeps them per copy; others may ignore this field.
   */
  copyHeaders?: Array<[string, string]>;
}

export interface FlagsChange {
  uid: number;
  modSeq: number;
  flags: string[];
}

/**
 * The search index port (James' MessageSearchIndex). Writes are idempotent (a retried event
 * does no harm): `index` replaces a document, deletes of missing documents succeed. Errors of an
 * unreachable engine are thrown as they are (the event bus retries, then dead-letters).
 */
export interface SearchIndex {
  /** Adds or replaces documents (bulk). */
  index(messages: readonly IndexedMessage[]): Promise<void>;
  /** Sets the flags of indexed messages; messages not indexed are ignored. */
  updateFlags(mailboxId: string, changes: readonly FlagsChange[]): Promise<void>;
  delete(mailboxId: string, uids: readonly number[]): Promise<void>;
  deleteMailbox(mailboxId: string): Promise<void>;
  /** Removes every document of one owner's mailboxes (before a user reindex). */
  deleteOwner?(owner: string): Promise<void>;
  search(query: SearchQuery): Promise<SearchHit[]>;
  /** Number of documents of a mailbox. */
  count(mailboxId: string): Promise<number>;
  /** Which of these UIDs of the mailbox are indexed (ascending). */
  indexedUids(mailboxId: string, uids: readonly number[]): Promise<number[]>;
  /** Makes the writes done so far visible to searches (OpenSearch refresh; no-op elsewhere). */
  refresh(): Promise<void>;
  checkHealth(): Promise<{ status: 'healthy' | 'unhealthy'; cause: string | null }>;
  close(): Promise<void>;
}
