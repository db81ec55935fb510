import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';

/**
 * RFC 3501 §6.4.1: a checkpoint. Every change is durable when its command completes, so there
 * is nothing to flush; pending updates of the mailbox are reported as on NOOP.
 */
export const check: ImapCommand = {
  name: 'CHECK',
  states: ['selected'],
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'CHECK');
    await session.reportChanges();
    return ok('CHECK completed');
  },
};
