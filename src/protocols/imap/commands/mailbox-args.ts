import { MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { ImapBadError } from '../errors';
import type { ImapValue } from '../parser';
import { InvalidSequenceSetError, parseSequenceSet, type MessageSet, type SequenceRange } from '../sequence-set';
import type { MailboxRef } from '../../../mailbox/api/mailbox-manager';
import { atomArg, mailboxRefArg } from './args';

/** A mailbox name for CREATE: a trailing delimiter only declares the intent to create children (RFC 3501 §6.3.3). */
export function createNameArg(value: ImapValue, utf8 = false): MailboxRef {
  const ref = mailboxRefArg(value, utf8);
  const name = typeof ref === 'string' ? ref : ref.name;
  const trimmed = name.endsWith(MAILBOX_DELIMITER) ? name.slice(0, -MAILBOX_DELIMITER.length) : name;
  return typeof ref === 'string' ? trimmed : { owner: ref.owner, name: trimmed };
}

export function sequenceSetArg(value: ImapValue): SequenceRange[] {
  try {
    return parseSequenceSet(atomArg(value, 'sequence set'));
  } catch (err) {
    if (err instanceof InvalidSequenceSetError) throw new ImapBadError(err.message, 'CLIENTBUG');
    throw err;
  }
}

/** A message set of FETCH/STORE/COPY/MOVE/UID EXPUNGE: a sequence set or `$` (RFC 5182 SEARCHRES). */
export function messageSetArg(value: ImapValue): MessageSet {
  if (value.type === 'atom' && !value.section && value.value === '$') return '$';
  return sequenceSetArg(value);
}

/** `(\Seen $Label)` or a single flag; BAD on anything but flag atoms. */
export function flagListArg(value: ImapValue): string[] {
  const items = value.type === 'list' ? value.items : [value];
  return items.map((item) => {
    if (item.type !== 'atom' || item.section || /[%*\]]/.test(item.value)) throw new ImapBadError('Invalid flag');
    return item.value;
  });
}
