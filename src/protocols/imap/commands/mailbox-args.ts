import { MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { ImapBadError } from '../errors';
import type { ImapValue } from '../parser';
import { InvalidSequenceSetError, parseSequenceSet, type SequenceRange } from '../sequence-set';
import { atomArg, mailboxNameArg } from './args';

/** A mailbox name for CREATE: a trailing delimiter only declares the intent to create children (RFC 3501 §6.3.3). */
export function createNameArg(value: ImapValue): string {
  const name = mailboxNameArg(value);
  return name.endsWith(MAILBOX_DELIMITER) ? name.slice(0, -MAILBOX_DELIMITER.length) : name;
}

export function sequenceSetArg(value: ImapValue): SequenceRange[] {
  try {
    return parseSequenceSet(atomArg(value, 'sequence set'));
  } catch (err) {
    if (err instanceof InvalidSequenceSetError) throw new ImapBadError(err.message, 'CLIENTBUG');
    throw err;
  }
}

/** `(\Seen $Label)` or a single flag; BAD on anything but flag atoms. */
export function flagListArg(value: ImapValue): string[] {
  const items = value.type === 'list' ? value.items : [value];
  return items.map((item) => {
    if (item.type !== 'atom' || item.section || /[%*\]]/.test(item.value)) throw new ImapBadError('Invalid flag');
    return item.value;
  });
}
