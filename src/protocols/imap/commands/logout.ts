import { ok } from '../response';
import { ANY_STATE, type ImapCommand } from '../types';
import { expectArgs } from './args';

/** RFC 3501 §6.1.3. */
export const logout: ImapCommand = {
  name: 'LOGOUT',
  states: ANY_STATE,
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'LOGOUT');
    await session.untagged('BYE Postflow IMAP logging out');
    session.logout();
    return ok('LOGOUT completed');
  },
};
