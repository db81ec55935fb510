import { MAILBOX_DELIMITER } from '../../../mailbox/api/mailbox-store';
import { OTHER_USERS_PREFIX } from '../mailbox-name';
import { ok } from '../response';
import { formatString } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';

/**
 * RFC 2342: the personal namespace at the root and, with the mailbox manager, the other users'
 * namespace `#user.` (mailboxes other users shared through their ACL); no shared namespace.
 */
export const namespace: ImapCommand = {
  name: 'NAMESPACE',
  states: ['authenticated', 'selected'],
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'NAMESPACE');
    const delimiter = formatString(MAILBOX_DELIMITER);
    const others = session.manager ? `(("${OTHER_USERS_PREFIX}${MAILBOX_DELIMITER}" ${delimiter}))` : 'NIL';
    await session.untagged(`NAMESPACE (("" ${delimiter})) ${others} NIL`);
    return ok('NAMESPACE completed');
  },
};
