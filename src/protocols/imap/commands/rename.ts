import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs, mailboxNameArg } from './args';
import { createNameArg } from './mailbox-args';

/** RFC 3501 §6.3.5: children follow; renaming INBOX moves its messages and leaves it empty. */
export const rename: ImapCommand = {
  name: 'RENAME',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 2, 2, 'RENAME <mailbox> <new name>');
    await session.requireManager().renameMailbox(session.user as string, mailboxNameArg(args[0]), createNameArg(args[1]));
    return ok('RENAME completed');
  },
};
