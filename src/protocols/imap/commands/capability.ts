import { ok } from '../response';
import { ANY_STATE, type ImapCommand } from '../types';
import { expectArgs } from './args';

/** RFC 3501 §6.1.1. */
export const capability: ImapCommand = {
  name: 'CAPABILITY',
  states: ANY_STATE,
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'CAPABILITY');
    await session.untagged(`CAPABILITY ${session.capabilities().join(' ')}`);
    return ok('CAPABILITY completed');
  },
};
