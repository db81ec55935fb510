import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs, mailboxRefArg } from './args';
import { createNameArg } from './mailbox-args';

/** RFC 3501 §6.3.5: children follow; renaming INBOX moves its messages and leaves it empty. */
export const rename: ImapCommand = {
  name: 'RENAME',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'RENAME <mailbox> <new name>');
    await session.requireManager().renameMailbox(session.user as string, mailboxRefArg(args[0], session.utf8Names()), createNameArg(args[1], session.utf8Names()));
    return ok('RENAME completed');
  },
};
