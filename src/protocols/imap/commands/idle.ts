import { ImapBadError, ImapNoError } from '../errors';
import { ok } from '../response';
import type { ImapCommand } from '../types';
import { expectArgs } from './args';

/**
 * RFC 2177. While idling, changes of the selected mailbox (pushed by the event bus key listener)
 * are reported at once; `DONE` ends the command. The inactivity timer keeps running: RFC 2177
 * asks clients to re-issue IDLE at least every 29 minutes.
 */
export const idle: ImapCommand = {
  name: 'IDLE',
  states: ['authenticated', 'selected'],
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'IDLE');
    if (!session.deps.events) throw new ImapNoError('IDLE is not available on this server', 'CANNOT');
    await session.writer.line('+ idling');
    const done = session.readNextEvent();
    let ended = false;
    void done.then(() => (ended = true));
    for (;;) {
      const view = session.selected;
      if (view?.hasPendingChanges) await session.reportChanges();
      const changed = view ? view.changed().then(() => 'changed' as const) : new Promise<never>(() => undefined);
      const first = ended ? 'done' : await Promise.race([done.then(() => 'done' as const), changed]);
      if (first === 'done') break;
    }
    const event = await done;
    if (event === null) return ok('IDLE terminated');
    if (event.type === 'command' && event.command.lines.length === 1 && event.command.lines[0].toUpperCase() === 'DONE') {
      return ok('IDLE terminated');
    }
    throw new ImapBadError('Expected DONE to end IDLE');
  },
};
