import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs, mailboxRefArg } from './args';
import { createNameArg } from './mailbox-args';
import { announceOldName } from './oldname';

/**
 * RFC 3501 §6.3.5: children follow; renaming INBOX moves its messages and leaves it empty. A
 * name sent in UTF-8 not in NFC is answered with a LIST response carrying OLDNAME (RFC 9051 §5.1).
 */
export const rename: ImapCommand = {
  name: 'RENAME',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'RENAME <mailbox> <new name>');
    const utf8 = session.utf8Names();
    const from = mailboxRefArg(args[0], utf8);
    const to = createNameArg(args[1], utf8);
    await session.requireManager().renameMailbox(session.user as string, from, to);
    await announceOldName(session, args[0], from, false);
    await announceOldName(session, args[1], to, true);
    return ok('RENAME completed');
  },
};
