import { objectId } from '../object-id';
import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';
import { createNameArg } from './mailbox-args';

/** RFC 3501 §6.3.3: missing parents are created too; `NO [ALREADYEXISTS]` when it exists; `OK [MAILBOXID (id)]` (RFC 8474). */
export const create: ImapCommand = {
  name: 'CREATE',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    // RFC 4466 create parameters (e.g. USE for RFC 6154 CREATE-SPECIAL-USE) are not supported.
    expectArgs(args, 1, 1, 'CREATE <mailbox>');
    const mailbox = await session.requireManager().createMailbox(session.user as string, createNameArg(args[0], session.utf8Names()));
    // RFC 8474 §4.1: the new mailbox's id in the tagged OK.
    return ok('CREATE completed', session.capabilities().includes('OBJECTID') ? `MAILBOXID (${objectId(mailbox.id)})` : undefined);
  },
};
