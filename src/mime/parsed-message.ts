/**
 * Parsed message data computed once at append (from the stored bytes, streaming) and stored
 * beside the message, keyed by its MessageId: what IMAP ENVELOPE/BODYSTRUCTURE/HEADER fetches,
 * JMAP Email properties, threading and the search index need without reading the blob again.
 */

/** Version of the stored JSON shape of `MessageSummary`; bump when it changes incompatibly. */
export const PARSED_MESSAGE_VERSION = 1;

export interface ContentType {
  /** Lower-case, e.g. `text`. */
  type: string;
  /** Lower-case, e.g. `plain`. */
  subtype: string;
  /** Parameter names lower-case; RFC 2231 continuations and charsets decoded. */
  params: Record<string, string>;
}

export interface ContentDisposition {
  /** Lower-case, e.g. `attachment`. */
  type: string;
  params: Record<string, string>;
}

/** An address of an address header; a group appears as `{ group, members }` (RFC 5322 §3.4). */
export type EnvelopeAddress = { name: string; address: string } | { group: string; members: { name: string; address: string }[] };

/**
 * IMAP ENVELOPE fields (RFC 3501 §7.4.2), header values unfolded but not decoded: IMAP sends
 * encoded-words as they were; `decodedSubject` is for JMAP and search. Absent fields are null/[].
 */
export interface Envelope {
  date: string | null;
  subject: string | null;
  decodedSubject: string | null;
  from: EnvelopeAddress[];
  sender: EnvelopeAddress[];
  replyTo: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  bcc: EnvelopeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

/** One node of the MIME tree, with byte offsets into the stored message (for BODY[section]). */
export interface MimePart {
  /**
   * IMAP section number (`1`, `1.2`, …); `''` for the root multipart of the message (which
   * has none), the parent's number for the root multipart of an encapsulated message.
   */
  partId: string;
  contentType: ContentType;
  /** Lower-case Content-Transfer-Encoding; `7bit` when absent. */
  encoding: string;
  id: string | null;
  description: string | null;
  disposition: ContentDisposition | null;
  language: string[] | null;
  location: string | null;
  md5: string | null;
  /** Offset of the first header line. */
  headerStart: number;
  /** Offset of the first body byte (after the empty line ending the headers). */
  bodyStart: number;
  /** Offset after the last body byte (the line break before a boundary is not part of the body). */
  bodyEnd: number;
  /** Body size in octets (encoded), as IMAP BODYSTRUCTURE reports it. */
  size: number;
  /** Lines of the body (IMAP reports it for text/* and message/rfc822). */
  lines: number;
  /** Children of a multipart. */
  children?: MimePart[];
  /** The encapsulated message of a message/rfc822 part. */
  message?: { envelope: Envelope; root: MimePart };
}

export interface AttachmentInfo {
  partId: string;
  /** `type/subtype`, lower-case. */
  contentType: string;
  /** Decoded file name (Content-Disposition filename, else Content-Type name), or null. */
  name: string | null;
  disposition: string | null;
  /** Content-ID without angle brackets, or null. */
  cid: string | null;
  /** Decoded size in octets. */
  size: number;
}

export interface ThreadingKeys {
  /** Message-ID without angle brackets, or null. */
  messageId: string | null;
  inReplyTo: string[];
  references: string[];
  /** Base subject (RFC 5256 §2.1), for matching replies to their thread. */
  baseSubject: string;
}

/** Everything parsed except the raw headers and the search text, stored as JSON. */
export interface MessageSummary {
  version: typeof PARSED_MESSAGE_VERSION;
  size: number;
  /** Octets of the header block, the empty line after it included. */
  headerSize: number;
  envelope: Envelope;
  structure: MimePart;
  attachments: AttachmentInfo[];
  hasAttachment: boolean;
  /** Start of the text, whitespace collapsed (JMAP `preview`, at most PREVIEW_LENGTH characters). */
  preview: string;
  threading: ThreadingKeys;
  /** What was wrong with the message (it is stored byte-exact anyway). Empty for a well-formed one. */
  defects: string[];
}

export interface ParsedMessage {
  summary: MessageSummary;
  /** The header block as received (at most MAX_STORED_HEADER_BYTES; `summary.headerSize` is the real size). */
  headers: Buffer;
  /** Decoded text of the text parts, for search (at most MAX_SEARCH_TEXT_BYTES of decoded text). */
  text: string;
}
