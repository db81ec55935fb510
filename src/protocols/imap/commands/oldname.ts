import type { MailboxRef } from '../../../mailbox/api/mailbox-manager';
import { MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { formatMailboxName } from '../mailbox-name';
import type { ImapValue } from '../parser';
import { formatString } from '../response';
import type { ImapSession } from '../session';
import { denormalizedNameArg, refName } from './args';

/**
 * OLDNAME (RFC 9051 §5.1, LIST extended data item): when an IMAP4rev2 client named a mailbox in
 * UTF-8 that is not in normalization form C, the server works on the NFC name and tells the client
 * with `* LIST (...) "." "<nfc name>" ("OLDNAME" ("<name as sent>"))`, `\NonExistent` when the
 * name is gone after the command (DELETE, the source of RENAME). Nothing for normalized names.
 */
export async function announceOldName(session: ImapSession, arg: ImapValue, ref: MailboxRef, exists: boolean): Promise<void> {
  const sent = denormalizedNameArg(arg, session.utf8Names());
  if (sent === null) return;
  const attributes = exists ? '' : '\\NonExistent';
  await session.untagged(`LIST (${attributes}) ${formatString(MAILBOX_DELIMITER)} ${formatMailboxName(refName(ref), true)} ("OLDNAME" (${formatMailboxName(sent, true)}))`);
}
