import { ImapBadError, ImapNoError } from '../errors';
import { ok, type TaggedResult } from '../response';
import { SelectedMailbox } from '../selected-mailbox';
import type { CommandContext, ImapCommand } from '../types';
import { mailboxNameArg } from './args';

const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

/** SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2). */
export async function openMailbox({ name: command, args, session }: CommandContext, readOnly: boolean): Promise<TaggedResult> {
  if (args.length === 2) throw new ImapBadError(`${command} parameters are not supported`);
  if (args.length !== 1) throw new ImapBadError(`Usage: ${command} <mailbox>`);
  const name = mailboxNameArg(args[0]);
  // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
  session.unselect();
  const mailboxes = session.deps.mailboxes;
  const mailbox = await mailboxes.getMailbox(session.user as string, name);
  if (!mailbox) throw new ImapNoError('Mailbox does not exist', 'NONEXISTENT');
  const uids = await mailboxes.listUids(mailbox.id);
  const view = new SelectedMailbox(mailbox, readOnly, uids);
  // A message appended between getMailbox and listUids must stay below UIDNEXT.
  const uidNext = Math.max(mailbox.uidNext, view.highestUid + 1);
  await session.untagged(`FLAGS (${SYSTEM_FLAGS})`);
  await session.untagged(`${view.exists} EXISTS`);
  await session.untagged('0 RECENT');
  await session.untagged(`OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`);
  await session.untagged(`OK [UIDNEXT ${uidNext}] Predicted next UID`);
  await session.untagged(readOnly ? 'OK [PERMANENTFLAGS ()] Read-only mailbox' : `OK [PERMANENTFLAGS (${SYSTEM_FLAGS} \\*)] Flags permitted`);
  session.select(view);
  session.log.debug({ mailboxId: mailbox.id, readOnly }, 'IMAP mailbox selected');
  return ok(`${command} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

export const select: ImapCommand = {
  name: 'SELECT',
  states: ['authenticated', 'selected'],
  handler: (context) => openMailbox(context, false),
};
