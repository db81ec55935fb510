import { ok } from '../response';
import { ANY_STATE, type ImapCommand } from '../types';
import { expectArgs } from './args';

/** RFC 3501 §6.1.2: also the poll for changes of the selected mailbox (until IDLE exists). */
export const noop: ImapCommand = {
  name: 'NOOP',
  states: ANY_STATE,
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'NOOP');
    const selected = session.selected;
    if (selected) {
      const changes = selected.update(await session.deps.mailboxes.listUids(selected.mailbox.id));
      for (const sequence of changes.expunged) await session.untagged(`${sequence} EXPUNGE`);
      if (changes.exists !== null) await session.untagged(`${changes.exists} EXISTS`);
    }
    return ok('NOOP completed');
  },
};
