import type { MessageSummary } from '../../mime/parsed-message';
import type { FlagUpdateMode } from './flags';
import type { MailboxInfo, MailboxRole, MessageRecord, OwnerTotals, UidRange } from './mailbox-store';
import type { MailboxAcl } from './rights';

/**
 * What a storage adapter implements (James' MailboxMapper, MessageMapper, MessageIdMapper,
 * ACL/annotation/subscription mappers in one): storage only. Names arrive validated, rights are
 * checked and events dispatched by the MailboxManager above it. Each adapter runs the mailbox
 * contract suites through the manager.
 */
export interface MailboxMapper {
  /**
   * MailboxExistsError when the owner has a mailbox of that name; MailboxRoleTakenError when the
   * mailbox has a role another mailbox of the owner holds. Atomic: of concurrent inserts with one
   * role, one wins; a refused insert leaves nothing behind. Deleting a mailbox frees its role;
   * renaming keeps it.
   */
  insertMailbox(mailbox: NewMailbox): Promise<MailboxInfo>;
  findMailboxByName(owner: string, name: string): Promise<MailboxInfo | null>;
  findMailboxById(id: string): Promise<MailboxInfo | null>;
  /** The owner's mailboxes in name order (binary). */
  listMailboxes(owner: string): Promise<MailboxInfo[]>;
  /** The owner's messages and their octets, summed over the mailboxes' counters. */
  ownerTotals(owner: string): Promise<OwnerTotals>;
  /** Renames one mailbox (its id, UIDs and messages stay); MailboxExistsError when `newName` is taken. */
  renameMailbox(id: string, owner: string, oldName: string, newName: string): Promise<void>;
  /** Removes the mailbox, its messages, counters, ACL and annotations. */
  deleteMailbox(id: string, owner: string, name: string): Promise<void>;
  /**
   * Removes the mailbox like `deleteMailbox` only if it holds no message, atomically with respect
   * to appends and copies into it: an append that races it either lands before (the mailbox is
   * kept: false) or fails (MailboxNotFoundError or TemporaryError), never acknowledged and then
   * deleted. True when the mailbox is gone (or did not exist).
   */
  deleteMailboxIfEmpty(id: string, owner: string, name: string): Promise<boolean>;

  getAcl(mailboxId: string): Promise<MailboxAcl>;
  /** Sets (or, with null/'', removes) one entry. */
  setAclEntry(mailboxId: string, owner: string, identifier: string, rights: string | null): Promise<void>;
  /** Mailboxes whose ACL names one of `identifiers` (positive entries only). */
  listSharedWith(identifiers: readonly string[]): Promise<{ mailboxId: string; identifier: string; rights: string }[]>;

  subscribe(user: string, name: string): Promise<void>;
  unsubscribe(user: string, name: string): Promise<void>;
  /** Subscribed names in name order (they may name mailboxes that do not exist, RFC 3501 §6.3.6). */
  listSubscriptions(user: string): Promise<string[]>;

  /** Stored annotations: key (the scope prefix included, see StoreMailboxManager) → value. */
  getAnnotations(mailboxId: string): Promise<Map<string, string>>;
  setAnnotation(mailboxId: string, key: string, value: string | null): Promise<void>;

  /**
   * Allocates the next UID and MODSEQ and stores the message, its content and its thread lookup
   * entries. With a `deliveryKey` already used
   * in this mailbox, returns the message stored then (its id, not `input.messageId`).
   * MailboxNotFoundError when the mailbox does not exist.
   */
  append(mailboxId: string, input: AppendInput): Promise<MessageRecord>;
  /**
   * The message an append with this `deliveryKey` stored in this mailbox, or null (never stored,
   * still in flight, or removed since). Asked before the quota check, so a retried delivery that
   * filled the quota finds its copy instead of being refused.
   */
  findByDeliveryKey(mailboxId: string, deliveryKey: string): Promise<MessageRecord | null>;
  /**
   * Copies (or moves) the messages of `ranges` to `targetId` with new UIDs, same MessageId,
   * thread, content, header prefix and flags. A move removes them from the source (recorded as expunged there);
   * `getLocations` of a moved message never shows both mailboxes or neither.
   */
  copy(sourceId: string, ranges: readonly UidRange[], targetId: string, options: { move: boolean; savedDate: Date }): Promise<CopiedMessage[]>;
  /** Messages in ascending UID order, streamed page by page. */
  listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageRecord>;
  listUids(mailboxId: string): Promise<number[]>;
  /** The lowest UID of a message without \\Seen; null when every message is seen. */
  firstUnseenUid(mailboxId: string): Promise<number | null>;
  updateFlags(mailboxId: string, ranges: readonly UidRange[], update: FlagUpdate): Promise<FlagUpdateResult>;
  /** Removes the messages of `ranges` flagged `\Deleted`; records each with the expunge MODSEQ. */
  expunge(mailboxId: string, ranges: readonly UidRange[]): Promise<ExpungedMessage[]>;
  /** Messages whose MODSEQ is above `modSeq`, in MODSEQ order (RFC 7162 CHANGEDSINCE), without a scan. */
  changedSince(mailboxId: string, modSeq: number): AsyncIterable<MessageRecord>;
  /**
   * Messages expunged with a MODSEQ above `modSeq` (RFC 7162 VANISHED), in MODSEQ order; null when
   * `modSeq` is older than the retained expunge log (see EXPUNGE_LOG_WINDOW): the answer is then
   * unknown and the caller falls back to a full resync.
   */
  expungedSince(mailboxId: string, modSeq: number): Promise<{ uid: number; modSeq: number }[] | null>;
  getLocations(messageId: string): Promise<MessageLocation[]>;
  /**
   * Stored parsed data by MessageId (`text` only when `withText`, '' otherwise). The parsed data
   * and the thread lookup entries of a message are removed with its last copy (expunge, move-free
   * delete of its mailbox).
   */
  getContents(messageIds: readonly string[], withText: boolean): Promise<Map<string, StoredContent>>;
  /**
   * `listMessages` with each message's stored header block and summary (no text), read together
   * where the adapter can join them: one statement per page instead of two, which is most of the
   * storage cost of a client's one-message header FETCH. Optional: without it the manager reads the
   * contents per batch with `getContents`.
   */
  listMessagesWithContent?(mailboxId: string, range: UidRange): AsyncIterable<MessageWithContent>;

  /** Threads that messages with these RFC 5322 Message-IDs belong to, for this owner. */
  findThreads(owner: string, mimeMessageIds: readonly string[]): Promise<ThreadEntry[]>;
}

/**
 * How far back the expunge log (QRESYNC VANISHED) reaches, in MODSEQs of the mailbox: records of
 * expunges whose MODSEQ is at least this far below the mailbox's HIGHESTMODSEQ are pruned. The log
 * thus holds at most the messages expunged during the last EXPUNGE_LOG_WINDOW changes of the
 * mailbox. A client whose MODSEQ is older gets a full resync instead (James keeps a bounded
 * history too): `expungedSince` answers with every UID below UIDNEXT that no longer exists.
 */
export const EXPUNGE_LOG_WINDOW = 100_000;

/** Adapter options (tests shrink the window to exercise the pruning). */
export interface MailboxMapperOptions {
  /** Default EXPUNGE_LOG_WINDOW. */
  expungeLogWindow?: number;
}

/** The lowest MODSEQ from which `expungedSince` is still exact, for a mailbox at `highestModSeq`. */
export function expungeLogFloor(highestModSeq: number, window: number): number {
  return Math.max(0, highestModSeq - window);
}

export interface NewMailbox {
  id: string;
  owner: string;
  name: string;
  uidValidity: number;
  role: MailboxRole | null;
}

export interface StoredContent {
  headers: Buffer;
  summary: MessageSummary;
  text: string;
}

/** A message and its stored content (absent while the message is being removed). */
export interface MessageWithContent extends MessageRecord {
  headers?: Buffer;
  /** Parsed on first use by adapters that store it as JSON. */
  readonly parsed?: MessageSummary;
}

export interface AppendInput {
  messageId: string;
  threadId: string;
  blobId: string;
  size: number;
  internalDate: Date;
  savedDate: Date;
  flags: string[];
  deliveryKey?: string;
  /** Per-copy header lines before the blob's bytes (validated by the manager); stored in the message row. */
  headerPrefix?: Buffer;
  content: StoredContent;
  /** Recorded with the message (same transaction where the store has them) so later messages find its thread. */
  thread: { owner: string; mimeMessageIds: readonly string[]; baseSubject: string };
}

export interface CopiedMessage {
  sourceUid: number;
  message: MessageRecord;
}

export interface FlagUpdate {
  mode: FlagUpdateMode;
  flags: string[];
  /** RFC 7162 UNCHANGEDSINCE: messages whose MODSEQ is above it are not changed but reported. */
  unchangedSince?: number;
}

export interface FlagChange {
  message: MessageRecord;
  oldFlags: string[];
}

export interface FlagUpdateResult {
  /** Messages whose flags changed, as they are now (all with the one new MODSEQ). */
  updated: FlagChange[];
  /** UIDs that failed the UNCHANGEDSINCE condition (RFC 7162 MODIFIED). */
  failed: number[];
}

export interface ExpungedMessage {
  uid: number;
  modSeq: number;
  messageId: string;
  size: number;
  flags: string[];
}

export interface MessageLocation {
  mailboxId: string;
  uid: number;
}

export interface ThreadEntry {
  mimeMessageId: string;
  threadId: string;
  baseSubject: string;
}
