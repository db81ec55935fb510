import type { UidRange } from '../../../mailbox/api/mailbox-store';
import { ImapNoError } from '../errors';
import { ok, type TaggedResult } from '../response';
import type { SelectedMailbox } from '../selected-mailbox';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';
import { expectArgs } from './args';
import { messageSetArg } from './mailbox-args';

/** Expunges the `\Deleted` messages (of `ranges`, or all) and reports them, unless `silent` (CLOSE). */
export async function expungeSelected(session: ImapSession, ranges: readonly UidRange[] | undefined, silent: boolean): Promise<void> {
  const view = session.selected as SelectedMailbox;
  const uids = await session.requireManager().expunge(session.user as string, view.mailbox.id, ranges);
  const known = uids.filter((uid) => view.sequenceOf(uid) !== null);
  const sequences = view.removeUids(known);
  if (silent) return;
  await session.reportExpunged(sequences, known);
}

export async function runExpunge({ args, session }: CommandContext, byUid: boolean): Promise<TaggedResult> {
  const command = byUid ? 'UID EXPUNGE' : 'EXPUNGE';
  expectArgs(args, byUid ? 1 : 0, byUid ? 1 : 0, byUid ? 'UID EXPUNGE <uid set>' : 'EXPUNGE');
  const view = session.selected as SelectedMailbox;
  if (view.readOnly) throw new ImapNoError('Mailbox is read-only', 'READ-ONLY');
  const ranges = byUid ? view.uidRangesFor(messageSetArg(args[0]), true) : undefined;
  if (ranges?.length === 0) return ok(`${command} completed`);
  await expungeSelected(session, ranges, false);
  return ok(`${command} completed`);
}

/** RFC 3501 §6.4.3. */
export const expunge: ImapCommand = {
  name: 'EXPUNGE',
  states: ['selected'],
  needsManager: true,
  handler: (context) => runExpunge(context, false),
};

/** RFC 3501 §6.4.2: expunges silently (read-write only), then leaves the selected state. */
export const close: ImapCommand = {
  name: 'CLOSE',
  states: ['selected'],
  needsManager: true,
  async handler({ args, session }) {
    expectArgs(args, 0, 0, 'CLOSE');
    const view = session.selected as SelectedMailbox;
    try {
      if (!view.readOnly) await expungeSelected(session, undefined, true);
    } finally {
      session.unselect();
    }
    return ok('CLOSE completed');
  },
};
