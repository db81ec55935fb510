import type { FlagUpdateMode } from '../../../mailbox/api/flags';
import { ImapBadError, ImapNoError } from '../errors';
import { formatFlags, ok, type TaggedResult } from '../response';
import { formatNumberSet } from '../search/query';
import type { SelectedMailbox } from '../selected-mailbox';
import type { CommandContext, ImapCommand } from '../types';
import { atomArg } from './args';
import { flagListArg, messageSetArg } from './mailbox-args';

const MODES: Record<string, FlagUpdateMode> = { FLAGS: 'replace', '+FLAGS': 'add', '-FLAGS': 'remove' };

/**
 * STORE and UID STORE (RFC 3501 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3): messages changed
 * since are left alone and named in `[MODIFIED …]`. Unless `.SILENT`, the new flags are sent.
 */
export async function runStore({ args, session }: CommandContext, byUid: boolean): Promise<TaggedResult> {
  const command = byUid ? 'UID STORE' : 'STORE';
  if (args.length < 3) throw new ImapBadError(`Usage: ${command} <sequence set> [(UNCHANGEDSINCE <modseq>)] <+|->FLAGS[.SILENT] <flags>`);
  const set = messageSetArg(args[0]);
  let index = 1;
  let unchangedSince: number | undefined;
  const modifiers = args[1];
  if (modifiers.type === 'list') {
    const [name, value] = modifiers.items;
    if (modifiers.items.length !== 2 || name.type !== 'atom' || name.value.toUpperCase() !== 'UNCHANGEDSINCE' || value.type !== 'atom' || !/^\d{1,19}$/.test(value.value)) {
      throw new ImapBadError('Unknown STORE modifier');
    }
    unchangedSince = Number(value.value);
    index = 2;
  }
  const item = atomArg(args[index], 'STORE item').toUpperCase();
  const silent = item.endsWith('.SILENT');
  const mode = MODES[silent ? item.slice(0, -'.SILENT'.length) : item];
  if (!mode) throw new ImapBadError(`Unknown STORE item ${item.slice(0, 30)}`);
  const flagArgs = args.slice(index + 1);
  if (flagArgs.length === 0) throw new ImapBadError('STORE needs flags');
  const flags = flagArgs.length === 1 ? flagListArg(flagArgs[0]) : flagArgs.flatMap(flagListArg);

  const view = session.selected as SelectedMailbox;
  if (view.readOnly) throw new ImapNoError('Mailbox is read-only', 'READ-ONLY');
  const ranges = view.uidRangesFor(set, byUid);
  if (ranges.length === 0) return ok(`${command} completed`);
  const result = await session.requireManager().updateFlags(session.user as string, view.mailbox.id, ranges, { mode, flags, unchangedSince });
  if (unchangedSince !== undefined) session.enable('CONDSTORE');
  const condstore = session.isEnabled('CONDSTORE');
  const updatedUids: number[] = [];
  for (const message of result.updated) {
    const sequence = view.sequenceOf(message.uid);
    if (sequence === null) continue;
    updatedUids.push(message.uid);
    const parts: string[] = [];
    if (!silent) parts.push(`FLAGS ${formatFlags(message.flags)}`);
    if (byUid) parts.unshift(`UID ${message.uid}`);
    if (condstore) parts.push(`MODSEQ (${message.modSeq})`);
    if (!silent || condstore) await session.untagged(`${sequence} FETCH (${parts.join(' ')})`);
  }
  view.forgetFlagChanges(updatedUids);
  if (result.failed.length > 0) {
    const failed = byUid ? result.failed : result.failed.map((uid) => view.sequenceOf(uid)).filter((n): n is number => n !== null);
    return ok(`${command} completed`, `MODIFIED ${formatNumberSet([...failed].sort((a, b) => a - b))}`);
  }
  return ok(`${command} completed`);
}

export const store: ImapCommand = {
  name: 'STORE',
  states: ['selected'],
  needsManager: true,
  handler: (context) => runStore(context, false),
};
