import type { Readable } from 'node:stream';
import type { ParsedMessage } from '../../mime/parsed-message';
import type { Annotation, AnnotationDepth } from './annotations';
import type { FlagUpdate, MessageLocation } from './mailbox-mapper';
import type { AppendRequest, MailboxInfo, MailboxRole, MailboxStore, MessageRecord, OwnerTotals, UidRange } from './mailbox-store';
import type { MailboxAcl } from './rights';

/** Personal namespace (RFC 2342): the user's own mailboxes. */
export const PERSONAL_NAMESPACE = '#private';
/** Other users' namespace: mailboxes shared with the user through their ACL. */
export const OTHER_USERS_NAMESPACE = '#user';

/** A mailbox of any user: `{ owner, name }`. A plain string names one of the acting user's own mailboxes. */
export interface MailboxPath {
  owner: string;
  name: string;
}
export type MailboxRef = string | MailboxPath;

/** A mailbox the user can see, with the namespace it appears in and the user's rights on it. */
export interface AccessibleMailbox {
  mailbox: MailboxInfo;
  namespace: typeof PERSONAL_NAMESPACE | typeof OTHER_USERS_NAMESPACE;
  /** RFC 4314 rights of the user (all of them for the owner). */
  rights: string;
}

/** How much of each message `getMessages` returns (IMAP FETCH / JMAP Email/get property sets). */
export type FetchGroup = 'metadata' | 'headers' | 'full';

export interface FetchedMessage extends MessageRecord {
  /** `headers` and `full`: the header block as received, and the parsed data. */
  headers?: Buffer;
  parsed?: Omit<ParsedMessage, 'headers' | 'text'>['summary'];
  /** `full`: opens the whole message from the blob store (stream it; never buffer it whole). */
  openContent?: () => Promise<Readable>;
}

/** An append of content that is not in the blob store yet (see `appendContent`). */
export interface ContentAppendRequest extends Omit<AppendRequest, 'blobId' | 'size' | 'parsed'> {
  content: Readable | Buffer;
  /** Refuse (BlobTooLargeError, nothing appended) past this many bytes. */
  maxBytes?: number;
}

export interface UidMapping {
  sourceUid: number;
  uid: number;
}

export interface FlagsResult {
  /** Messages whose flags changed, as they are now. */
  updated: MessageRecord[];
  /** UIDs that failed UNCHANGEDSINCE (IMAP `[MODIFIED …]`). */
  failed: number[];
}

/**
 * The mailbox model (James' MailboxManager + MessageManager): every call names the acting user,
 * whose RFC 4314 rights are checked here (the owner has all of them), and every mutation
 * dispatches its mailbox event after it is stored. Errors are typed (`./errors`), each with the
 * IMAP response code the protocols answer with.
 *
 * It also implements the owner-scoped MailboxStore used by LocalDelivery and the IMAP first slice.
 */
export interface MailboxManager extends MailboxStore {
  /** Creates INBOX, Drafts, Sent, Trash, Junk and Archive with their roles, those missing only; subscribes to them. */
  provisionUser(user: string): Promise<MailboxInfo[]>;
  /** Creates the mailbox and its missing parents (RFC 3501 §6.3.3); MailboxExistsError when it exists. */
  createMailbox(user: string, ref: MailboxRef, options?: { role?: MailboxRole }): Promise<MailboxInfo>;
  /** Null when it does not exist or the user may not see it (no `l` nor `r`). */
  getMailbox(user: string, ref: MailboxRef): Promise<MailboxInfo | null>;
  getMailboxById(id: string): Promise<MailboxInfo | null>;
  /** The user's own mailboxes, in name order. */
  listMailboxes(owner: string): Promise<MailboxInfo[]>;
  /** The user's messages and their octets over all their own mailboxes (quota usage). */
  ownerTotals(owner: string): Promise<OwnerTotals>;
  /** Own mailboxes and those of other users the user has `l` on. */
  listAccessibleMailboxes(user: string): Promise<AccessibleMailbox[]>;
  /**
   * Renames a mailbox and its children (ids, UIDVALIDITY and messages stay). Renaming INBOX
   * moves its messages to a new mailbox and leaves INBOX empty (RFC 3501 §6.3.5).
   */
  renameMailbox(user: string, from: MailboxRef, to: MailboxRef): Promise<MailboxInfo>;
  /** Deletes a mailbox without children (HasChildrenError otherwise); INBOX cannot be deleted. */
  deleteMailbox(user: string, ref: MailboxRef): Promise<void>;
  /**
   * Deletes the user's own INBOX when the account's mailboxes go away (username change): only an
   * empty INBOX without children (MailboxOperationError / HasChildrenError otherwise, so no
   * message is lost); nothing when there is none. A later delivery or login provisions a new one.
   */
  deleteInbox(user: string): Promise<void>;

  subscribe(user: string, name: string): Promise<void>;
  unsubscribe(user: string, name: string): Promise<void>;
  listSubscriptions(user: string): Promise<string[]>;

  /** RFC 4314 MYRIGHTS. */
  myRights(user: string, ref: MailboxRef): Promise<string>;
  /** RFC 4314 GETACL (needs `a`). */
  getAcl(user: string, ref: MailboxRef): Promise<MailboxAcl>;
  /** RFC 4314 SETACL/DELETEACL (needs `a`): `replace`, `add` or `remove` rights of one identifier. */
  setRights(user: string, ref: MailboxRef, identifier: string, rights: string, mode?: 'replace' | 'add' | 'remove'): Promise<MailboxAcl>;

  /** RFC 5464 GETMETADATA (needs `r`); all entries when `keys` is omitted. */
  getAnnotations(user: string, ref: MailboxRef, keys?: readonly string[], depth?: AnnotationDepth): Promise<Annotation[]>;
  /** RFC 5464 SETMETADATA: `/shared/` entries need `n`, `/private/` ones `l`; a null value removes. All or nothing. */
  setAnnotations(user: string, ref: MailboxRef, annotations: readonly Annotation[]): Promise<void>;

  /**
   * Appends (needs `i`; flags other than \Seen/\Deleted need `w`, which are silently dropped without it as RFC 4314 says).
   * Without `request.parsed`, the stored blob is read and parsed once; the parse is kept (by blob
   * id, bounded) so appending one blob to several mailboxes or users — LocalDelivery's one append
   * per recipient — reads and parses it once. Concurrent appends on the embedded profile are
   * committed together (one transaction, one fsync).
   */
  append(user: string, mailboxId: string, request: AppendRequest): Promise<MessageRecord>;
  /**
   * APPEND of bytes not yet stored (IMAP APPEND, JMAP Email/import of an upload): checks `i`,
   * then stores the bytes in the mail bucket while parsing them in the same pass (nothing is read
   * back), then appends. The blob of an append that fails after the put is left to blob GC.
   */
  appendContent(user: string, mailboxId: string, request: ContentAppendRequest): Promise<MessageRecord>;
  /** Messages of the ranges in UID order (needs `r`). */
  getMessages(user: string, mailboxId: string, ranges: readonly UidRange[], fetch?: FetchGroup): AsyncIterable<FetchedMessage>;
  /** COPY (needs `r` on the source, `i` on the target). Mappings in source UID order (COPYUID). */
  copyMessages(user: string, sourceId: string, ranges: readonly UidRange[], targetId: string): Promise<UidMapping[]>;
  /** MOVE (RFC 6851; needs `r`, `t`, `e` on the source, `i` on the target). */
  moveMessages(user: string, sourceId: string, ranges: readonly UidRange[], targetId: string): Promise<UidMapping[]>;
  /** Expunges the `\Deleted` messages (of the ranges, or all); returns their UIDs (needs `e`). */
  expunge(user: string, mailboxId: string, ranges?: readonly UidRange[]): Promise<number[]>;
  /** STORE (needs `s` for \Seen, `t` for \Deleted, `w` for the others). */
  updateFlags(user: string, mailboxId: string, ranges: readonly UidRange[], update: FlagUpdate): Promise<FlagsResult>;
  /** Messages changed since a MODSEQ (RFC 7162 CHANGEDSINCE), in MODSEQ order (needs `r`). */
  changedSince(user: string, mailboxId: string, modSeq: number): AsyncIterable<MessageRecord>;
  /** UIDs expunged since a MODSEQ (RFC 7162 VANISHED), ascending (needs `r`). */
  expungedSince(user: string, mailboxId: string, modSeq: number): Promise<number[]>;
  /** Where the copies of a message are, among the mailboxes the user can read (JMAP Email/mailboxIds). */
  getMessageLocations(user: string, messageId: string): Promise<MessageLocation[]>;
  /** Decoded text of a message for the search index (needs `r` on a mailbox holding it); null if unknown. */
  getSearchText(user: string, messageId: string): Promise<string | null>;
}
