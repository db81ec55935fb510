import { MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { ImapBadError } from '../errors';
import { decodeMailboxName, normalizeMailboxName } from '../mailbox-name';
import type { ImapValue } from '../parser';

/** Helpers turning parsed arguments into the values a command expects (tagged BAD otherwise). */

export function expectArgs(args: readonly ImapValue[], min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) throw new ImapBadError(`Usage: ${usage}`);
}

/** An astring (RFC 3501 §9): atom, quoted string or literal. */
export function astringArg(value: ImapValue, what: string): string {
  if (value.type === 'nil') return 'NIL';
  if (value.type === 'quoted') return value.value;
  if (value.type === 'literal') return value.value.toString('utf8');
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
export function mailboxNameArg(value: ImapValue): string {
  const name = decodeMailboxName(astringArg(value, 'mailbox name'));
  if (name === null) throw new ImapBadError('Invalid mailbox name encoding');
  return normalizeMailboxName(name, MAILBOX_DELIMITER);
}
