import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';

/** RFC 3691: leaves the selected state without expunging (CLOSE would expunge). */
export const unselect: ImapCommand = {
  name: 'UNSELECT',
  states: ['selected'],
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'UNSELECT');
    session.unselect();
    return ok('UNSELECT completed');
  },
};
