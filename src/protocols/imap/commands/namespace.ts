import { MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { ok } from '../response';
import { formatString } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';

/** RFC 2342: one personal namespace at the root; no other users' or shared namespaces yet. */
export const namespace: ImapCommand = {
  name: 'NAMESPACE',
  states: ['authenticated', 'selected'],
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'NAMESPACE');
    await session.untagged(`NAMESPACE (("" ${formatString(MAILBOX_DELIMITER)})) NIL NIL`);
    return ok('NAMESPACE completed');
  },
};
