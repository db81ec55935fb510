import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs, mailboxRefArg } from './args';
import { announceOldName } from './oldname';

/** RFC 3501 §6.3.4; INBOX and mailboxes with children cannot be deleted (James semantics, `NO [HASCHILDREN]`). */
export const deleteCommand: ImapCommand = {
  name: 'DELETE',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'DELETE <mailbox>');
    const ref = mailboxRefArg(args[0], session.utf8Names());
    const user = session.user as string;
    await session.requireManager().deleteMailbox(user, ref);
    await announceOldName(session, args[0], ref, false);
    const selected = session.selected?.mailbox;
    const owner = typeof ref === 'string' ? user : ref.owner;
    if (selected && selected.owner === owner && selected.name === (typeof ref === 'string' ? ref : ref.name)) session.unselect();
    return ok('DELETE completed');
  },
};
