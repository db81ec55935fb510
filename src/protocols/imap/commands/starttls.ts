import { ImapBadError } from '../errors';
import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';

/** RFC 3501 §6.2.1: TLS negotiation starts after the tagged OK (see ImapSession.startTls). */
export const starttls: ImapCommand = {
  name: 'STARTTLS',
  states: ['not-authenticated'],
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'STARTTLS');
    if (!session.deps.tls) throw new ImapBadError('STARTTLS is not available: no certificate is configured');
    if (session.secure) throw new ImapBadError('The connection is already encrypted');
    session.startTls(session.deps.tls);
    return ok('Begin TLS negotiation now');
  },
};
