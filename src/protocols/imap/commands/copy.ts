import type { UidMapping } from '../../../mailbox/api/mailbox-manager';
import { ImapBadError, ImapNoError } from '../errors';
import { ok, type TaggedResult } from '../response';
import { formatNumberSet } from '../search/query';
import type { SelectedMailbox } from '../selected-mailbox';
import type { CommandContext, ImapCommand } from '../types';
import { mailboxRefArg } from './args';
import { mayRead } from './lookup';
import { messageSetArg } from './mailbox-args';

/** `COPYUID <uidvalidity> <source uids> <target uids>` (RFC 4315), both sets in the same order. */
function copyUid(uidValidity: number, mappings: readonly UidMapping[]): string {
  const list = (values: number[]): string => (values.every((v, i) => i === 0 || v === values[i - 1] + 1) ? formatNumberSet(values) : values.join(','));
  return `COPYUID ${uidValidity} ${list(mappings.map((m) => m.sourceUid))} ${list(mappings.map((m) => m.uid))}`;
}

/** COPY/MOVE and their UID forms (RFC 3501 §6.4.7, RFC 6851, UIDPLUS RFC 4315). */
export async function runCopy({ args, session }: CommandContext, byUid: boolean, move: boolean): Promise<TaggedResult> {
  const command = `${byUid ? 'UID ' : ''}${move ? 'MOVE' : 'COPY'}`;
  if (args.length !== 2) throw new ImapBadError(`Usage: ${command} <sequence set> <mailbox>`);
  const set = messageSetArg(args[0]);
  const view = session.selected as SelectedMailbox;
  const manager = session.requireManager();
  const user = session.user as string;
  const targetRef = mailboxRefArg(args[1], session.utf8Names());
  const target = await manager.getMailbox(user, targetRef);
  if (!target) throw new ImapNoError('Mailbox does not exist', 'TRYCREATE');
  if (move && view.readOnly) throw new ImapNoError('Mailbox is read-only', 'READ-ONLY');
  const ranges = view.uidRangesFor(set, byUid);
  if (ranges.length === 0) return ok(`${command} completed`);
  const mappings = move ? await manager.moveMessages(user, view.mailbox.id, ranges, target.id) : await manager.copyMessages(user, view.mailbox.id, ranges, target.id);
  if (mappings.length === 0) return ok(`${command} completed`);
  // RFC 9051 §6.4.7: no COPYUID for a target the user cannot read (§6.4.8: the same for MOVE).
  const withUids = await mayRead(session, targetRef);
  if (!move) return withUids ? ok(`${command} completed`, copyUid(target.uidValidity, mappings)) : ok(`${command} completed`);
  // RFC 6851 §4.3 / RFC 9051 §6.4.8: COPYUID in an untagged OK before the expunges.
  if (withUids) await session.untagged(`OK [${copyUid(target.uidValidity, mappings)}] Moved`);
  const moved = mappings.map((m) => m.sourceUid).filter((uid) => view.sequenceOf(uid) !== null);
  await session.reportExpunged(view.removeUids(moved), moved);
  return ok(`${command} completed`);
}

export const copy: ImapCommand = {
  name: 'COPY',
  states: ['selected'],
  needsManager: true,
  handler: (context) => runCopy(context, false, false),
};

export const move: ImapCommand = {
  name: 'MOVE',
  states: ['selected'],
  needsManager: true,
  handler: (context) => runCopy(context, false, true),
};
