import { MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { ImapBadError, ImapNoError } from '../errors';
import type { MailboxRef } from '../../../mailbox/api/mailbox-manager';
import { decodeMailboxName, normalizeMailboxName, parseSharedMailboxName, sharedMailboxName } from '../mailbox-name';
import type { ImapValue } from '../parser';

/** Helpers turning parsed arguments into the values a command expects (tagged BAD otherwise). */

export function expectArgs(args: readonly ImapValue[], min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) throw new ImapBadError(`Usage: ${usage}`);
}

/** An astring (RFC 3501 §9): atom, quoted string or literal. */
export function astringArg(value: ImapValue, what: string): string {
  if (value.type === 'nil') return 'NIL';
  if (value.type === 'quoted') return value.value;
  if (value.type === 'literal') {
    if (value.chunks) throw new ImapBadError(`Invalid ${what}: too long`, 'TOOBIG');
    return value.value.toString('utf8');
  }
  if (value.type === 'atom' && !value.section && !/[%*]/.test(value.value)) return value.value;
  throw new ImapBadError(`Invalid ${what}`);
}

/** A plain atom (no section), e.g. a sequence set or a SASL mechanism. */
export function atomArg(value: ImapValue, what: string): string {
  if (value.type === 'atom' && !value.section) return value.value;
  if (value.type === 'nil') return 'NIL';
  throw new ImapBadError(`Invalid ${what}`);
}

/** list-mailbox (RFC 3501 §6.3.8): an astring that may also hold the wildcards `%` and `*`. */
export function listMailboxArg(value: ImapValue, what: string): string {
  if (value.type === 'atom' && !value.section) return value.value;
  return astringArg(value, what);
}

/** A mailbox name as stored: modified UTF-7 decoded, INBOX canonical. */
/** `utf8`: the session enabled IMAP4rev2 / UTF8=ACCEPT, names are UTF-8 as sent (RFC 9051 §5.1), `&` included. */
export function mailboxNameArg(value: ImapValue, utf8 = false): string {
  const raw = astringArg(value, 'mailbox name');
  // RFC 9051 §5.1: UTF-8 names are held in Unicode normalization form C; see `denormalizedNameArg`.
  const name = utf8 ? raw.normalize('NFC') : decodeMailboxName(raw);
  if (name === null) throw new ImapBadError('Invalid mailbox name encoding');
  return normalizeMailboxName(name, MAILBOX_DELIMITER);
}

/**
 * The mailbox name exactly as the client sent it when it is UTF-8 (IMAP4rev2) not in NFC, so the
 * server used another (normalized) name: the command answers with a LIST response carrying it as
 * OLDNAME (see `announceOldName`). Null otherwise, and always for modified UTF-7 names.
 */
export function denormalizedNameArg(value: ImapValue, utf8: boolean): string | null {
  if (!utf8) return null;
  const raw = astringArg(value, 'mailbox name');
  return raw.normalize('NFC') === raw ? null : raw;
}

/**
 * A mailbox of the user, or of another user through the other users' namespace
 * (`#user.<owner>.<name>`, see `sharedMailboxName`).
 */
export function mailboxRefArg(value: ImapValue, utf8 = false): MailboxRef {
  const name = mailboxNameArg(value, utf8);
  const shared = parseSharedMailboxName(name);
  if (!shared) return name;
  if (shared.owner === '' || shared.name === '') throw new ImapNoError('No such mailbox in the other users\' namespace', 'NONEXISTENT');
  return shared;
}

/** The name of a mailbox reference as the client sees it (for responses echoing it). */
export function refName(ref: MailboxRef): string {
  return typeof ref === 'string' ? ref : sharedMailboxName(ref.owner, ref.name);
}
