import { ImapBadError } from '../errors';
import type { CommandContext, ImapCommand } from '../types';
import { atomArg } from './args';
import { runCopy } from './copy';
import { runExpunge } from './expunge';
import { runFetch } from './fetch';
import { runSearch } from './search';
import { runSort } from './sort';
import { runStore } from './store';
import { runThread } from './thread';

/** UID forms that need the mailbox manager (see `mailbox-access.ts`). */
const WITH_MANAGER: Record<string, (context: CommandContext) => Promise<import('../response').TaggedResult>> = {
  STORE: (context) => runStore(context, true),
  COPY: (context) => runCopy(context, true, false),
  MOVE: (context) => runCopy(context, true, true),
  EXPUNGE: (context) => runExpunge(context, true),
  SORT: (context) => runSort(context, true),
  THREAD: (context) => runThread(context, true),
};

/** RFC 3501 §6.4.8 (UID EXPUNGE: RFC 4315; UID MOVE: RFC 6851). */
export const uid: ImapCommand = {
  name: 'UID',
  states: ['selected'],
  async handler(context) {
    if (context.args.length === 0) throw new ImapBadError('Usage: UID <command> <arguments>');
    const subcommand = atomArg(context.args[0], 'UID command').toUpperCase();
    const rest = { ...context, args: context.args.slice(1) };
    if (subcommand === 'FETCH') return runFetch(rest, true);
    if (subcommand === 'SEARCH') return runSearch(rest, true);
    const run = WITH_MANAGER[subcommand];
    if (run && context.session.manager !== null) return run(rest);
    throw new ImapBadError(`Unknown UID command ${subcommand.slice(0, 30)}`);
  },
};
