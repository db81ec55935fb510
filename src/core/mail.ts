/**
 * The mail as it travels through the processor graph: a reference (claim check), never the bytes.
 * Pure module: imported by workflows.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Well-known processor states (James semantics). */
export const GHOST = 'ghost';
export const ROOT = 'root';
export const ERROR = 'error';

export interface MailReference {
  /** Unique id of the received mail; all splits of one mail share it. */
  mailId: string;
  /** Name of this split of the mail (James `Mail.getName()`); unique within a mailId. */
  name: string;
  /** Envelope sender; null for the null reverse-path `<>`. */
  sender: string | null;
  /** Envelope recipients still carried by this mail. */
  recipients: string[];
  /** Blob holding the whole RFC 5322 message, in the `mail` bucket. */
  messageBlobId: string;
  /** Size of the message in bytes. */
  size: number;
  /** Processor the mail is in (or `ghost`). */
  state: string;
  remoteAddr: string;
  remoteHost: string;
  /** SMTP AUTH identity when the client authenticated. */
  authUser: string | null;
  /** ISO-8601 time the message was received. */
  receivedAt: string;
  attributes: Record<string, JsonValue>;
  errorMessage: string | null;
}

/** Key of one split of a mail: stable across retries and replays, used for idempotency. */
export function mailKey(mail: Pick<MailReference, 'mailId' | 'name'>): string {
  return `${mail.mailId}/${mail.name}`;
}

/**
 * A mail this server creates itself (a mailet's new mail, a quota warning): named by its id, from
 * localhost, unauthenticated, received now, in `root` unless `fields` say otherwise.
 */
export function locallyCreatedMail(fields: Pick<MailReference, 'mailId' | 'sender' | 'recipients' | 'messageBlobId' | 'size'> & Partial<MailReference>): MailReference {
  return {
    name: fields.mailId,
    state: ROOT,
    remoteAddr: '127.0.0.1',
    remoteHost: 'localhost',
    authUser: null,
    receivedAt: new Date().toISOString(),
    attributes: {},
    errorMessage: null,
    ...fields,
  };
}
