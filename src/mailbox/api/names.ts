import { InvalidInputError } from '../../core/errors';
import { INBOX } from './mailbox-store';

/** Longest mailbox name accepted, in characters (Dovecot and James both cap around this). */
export const MAX_MAILBOX_NAME_LENGTH = 200;

/** INBOX is case-insensitive (RFC 3501 §5.1); every other name is kept as given. */
export function normalizeMailboxName(name: string): string {
  if (name.length === 0) throw new InvalidInputError('Mailbox name is empty');
  if (name.length > MAX_MAILBOX_NAME_LENGTH) throw new InvalidInputError(`Mailbox name is longer than ${MAX_MAILBOX_NAME_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InvalidInputError('Mailbox name contains control characters');
  return name.toUpperCase() === INBOX ? INBOX : name;
}
