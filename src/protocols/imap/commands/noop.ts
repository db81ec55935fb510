import { ok } from '../response';
import { ANY_STATE, type ImapCommand } from '../types';
import { expectArgs } from './args';

/** RFC 3501 §6.1.2: also the poll for changes of the selected mailbox. */
export const noop: ImapCommand = {
  name: 'NOOP',
  states: ANY_STATE,
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'NOOP');
    await session.reportChanges();
    return ok('NOOP completed');
  },
};
