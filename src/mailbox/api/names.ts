import { INBOX, MAILBOX_DELIMITER } from './mailbox-store';
import { InvalidMailboxNameError } from './errors';

/** Longest mailbox name accepted, in characters (Dovecot and James both cap around this). */
export const MAX_MAILBOX_NAME_LENGTH = 200;
/** Levels of hierarchy accepted (`a.b.c` has 3); deeper trees are a client bug or an attack. */
export const MAX_MAILBOX_DEPTH = 20;
/** Longest single level of a name, in characters (file-system-backed servers cap a level at 255 bytes). */
export const MAX_MAILBOX_LEVEL_LENGTH = 100;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Validates a mailbox name of the personal namespace and returns it normalized: INBOX and its
 * children are case-insensitive (RFC 3501 §5.1), `inbox.Sent` becomes `INBOX.Sent`; every
 * other name is kept as given. Throws InvalidMailboxNameError for an empty or over-long name,
 * control characters, ill-formed Unicode (lone surrogates, U+FFFD left by a bad UTF-8 or
 * UTF-7 decoding), the LIST wildcards `*` and `%`, a leading `#` (namespace prefixes),
 * delimiter abuse (`.a`, `a.`, `a..b`) and too many levels.
 */
export function normalizeMailboxName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidMailboxNameError('Mailbox name is empty');
  if (name.length > MAX_MAILBOX_NAME_LENGTH) throw new InvalidMailboxNameError(`Mailbox name is longer than ${MAX_MAILBOX_NAME_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw new InvalidMailboxNameError('Mailbox name contains control characters');
  if (LONE_SURROGATE.test(name) || name.includes('\ufffd')) throw new InvalidMailboxNameError('Mailbox name is not valid UTF-8');
  if (/[*%]/.test(name)) throw new InvalidMailboxNameError('Mailbox name contains a wildcard (* or %)');
  if (name.startsWith('#')) throw new InvalidMailboxNameError('Mailbox names starting with # are reserved for namespaces');
  const levels = name.split(MAILBOX_DELIMITER);
  if (levels.some((level) => level.length === 0)) {
    throw new InvalidMailboxNameError(`Mailbox name has an empty level (leading, trailing or doubled "${MAILBOX_DELIMITER}")`);
  }
  if (levels.length > MAX_MAILBOX_DEPTH) throw new InvalidMailboxNameError(`Mailbox name is deeper than ${MAX_MAILBOX_DEPTH} levels`);
  if (levels.some((level) => level.length > MAX_MAILBOX_LEVEL_LENGTH)) {
    throw new InvalidMailboxNameError(`A level of the mailbox name is longer than ${MAX_MAILBOX_LEVEL_LENGTH} characters`);
  }
  if (levels[0].toUpperCase() === INBOX) levels[0] = INBOX;
  return levels.join(MAILBOX_DELIMITER);
}

/** Names of the ancestors of a normalized name, outermost first (`a.b.c` → `a`, `a.b`). */
export function ancestorsOf(name: string): string[] {
  const levels = name.split(MAILBOX_DELIMITER);
  return levels.slice(0, -1).map((_, i) => levels.slice(0, i + 1).join(MAILBOX_DELIMITER));
}

/** The parent name, or null for a top-level name. */
export function parentOf(name: string): string | null {
  const last = name.lastIndexOf(MAILBOX_DELIMITER);
  return last === -1 ? null : name.slice(0, last);
}

/** True when `name` is below `ancestor` in the hierarchy. */
export function isDescendant(name: string, ancestor: string): boolean {
  return name.startsWith(ancestor + MAILBOX_DELIMITER);
}
