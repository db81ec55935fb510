import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs, mailboxNameArg } from './args';

/** RFC 3501 §6.3.4; INBOX and mailboxes with children cannot be deleted (James semantics, `NO [HASCHILDREN]`). */
export const deleteCommand: ImapCommand = {
  name: 'DELETE',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'DELETE <mailbox>');
    const name = mailboxNameArg(args[0]);
    await session.requireManager().deleteMailbox(session.user as string, name);
    if (session.selected?.mailbox.name === name) session.unselect();
    return ok('DELETE completed');
  },
};
