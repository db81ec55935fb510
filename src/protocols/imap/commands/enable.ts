import { ENABLEABLE } from '../capabilities';
import { ImapBadError } from '../errors';
import { ok } from '../response';
import type { ImapCommand } from '../types';
import { atomArg } from './args';

/**
 * RFC 5161. Extensions that are not advertised, or not enableable, are ignored (not an error);
 * the untagged ENABLED lists only the ones newly switched on.
 */
export const enable: ImapCommand = {
  name: 'ENABLE',
  states: ['authenticated'],
  async handler({ args, session }) {
    if (args.length === 0) throw new ImapBadError('Usage: ENABLE <capability>...');
    const advertised = new Map(session.capabilities().map((c) => [c.toUpperCase(), c]));
    const enabled: string[] = [];
    for (const arg of args) {
      const name = atomArg(arg, 'capability').toUpperCase();
      const spelled = advertised.get(name);
      if (!ENABLEABLE.has(name) || spelled === undefined || session.isEnabled(name)) continue;
      session.enable(name);
      enabled.push(spelled);
    }
    await session.untagged(enabled.length === 0 ? 'ENABLED' : `ENABLED ${enabled.join(' ')}`);
    return ok('ENABLE completed');
  },
};
