import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs, mailboxNameArg } from './args';

/** RFC 3501 §6.3.6: a name may be subscribed whether or not the mailbox exists. */
export const subscribe: ImapCommand = {
  name: 'SUBSCRIBE',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'SUBSCRIBE <mailbox>');
    await session.requireManager().subscribe(session.user as string, mailboxNameArg(args[0], session.utf8Names()));
    return ok('SUBSCRIBE completed');
  },
};

/** RFC 3501 §6.3.7. */
export const unsubscribe: ImapCommand = {
  name: 'UNSUBSCRIBE',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'UNSUBSCRIBE <mailbox>');
    await session.requireManager().unsubscribe(session.user as string, mailboxNameArg(args[0], session.utf8Names()));
    return ok('UNSUBSCRIBE completed');
  },
};
