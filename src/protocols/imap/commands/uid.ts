import { ImapBadError } from '../errors';
import type { ImapCommand } from '../types';
import { atomArg } from './args';
import { runFetch } from './fetch';

const NOT_YET = new Set(['COPY', 'MOVE', 'STORE', 'SEARCH', 'EXPUNGE']);

/** RFC 3501 §6.4.8; only UID FETCH so far. */
export const uid: ImapCommand = {
  name: 'UID',
  states: ['selected'],
  async handler(context) {
    if (context.args.length === 0) throw new ImapBadError('Usage: UID <command> <arguments>');
    const subcommand = atomArg(context.args[0], 'UID command').toUpperCase();
    if (subcommand === 'FETCH') return runFetch({ ...context, args: context.args.slice(1) }, true);
    if (NOT_YET.has(subcommand)) throw new ImapBadError(`UID ${subcommand} is not supported by this server yet`);
    throw new ImapBadError(`Unknown UID command ${subcommand}`);
  },
};
