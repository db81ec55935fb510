import { ImapBadError, ImapNoError } from '../errors';
import type { ImapValue } from '../parser';
import { specialUseAttribute } from '../../../mailbox/api/roles';
import { MAILBOX_DELIMITER, type Mailbox, type MailboxInfo, type MailboxRole } from '../../../mailbox/api/mailbox-store';
import { formatMailboxName, normalizeMailboxName } from '../mailbox-name';
import { formatFlags, formatString, ok, type TaggedResult } from '../response';
import { formatNumberSet } from '../search/query';
import { SelectedMailbox } from '../selected-mailbox';
import { resolveSequenceSet, type SequenceRange } from '../sequence-set';
import type { ImapSession } from '../session';
import type { CommandContext, ImapCommand } from '../types';
import { objectId } from '../object-id';
import { lookupMailbox, visibleName } from './lookup';
import { denormalizedNameArg, mailboxRefArg } from './args';
import { announceOldName } from './oldname';
import { sequenceSetArg } from './mailbox-args';

const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

/** `QRESYNC (uidvalidity modseq [known-uids])` of SELECT/EXAMINE (RFC 7162 §3.2.5). */
interface QresyncParams {
  uidValidity: number;
  modSeq: number;
  knownUids: SequenceRange[] | null;
}

const NUMBER = /^[1-9]\d{0,18}$/;

/** `(CONDSTORE)` and/or `(QRESYNC (...))`; each enables its extension (RFC 7162 §3.1.8, §3.2.5). */
function parseSelectParams(session: ImapSession, params: ImapValue, command: string): QresyncParams | null {
  const capabilities = session.capabilities();
  if (params.type !== 'list' || params.items.length === 0) throw new ImapBadError(`${command} parameters are not supported`);
  let qresync: QresyncParams | null = null;
  for (let i = 0; i < params.items.length; i++) {
    const item = params.items[i];
    const name = item.type === 'atom' ? item.value.toUpperCase() : '';
    if (name === 'CONDSTORE' && capabilities.includes('CONDSTORE')) {
      session.enable('CONDSTORE');
      continue;
    }
    if (name === 'QRESYNC' && capabilities.includes('QRESYNC')) {
      if (!session.isEnabled('QRESYNC')) throw new ImapBadError('QRESYNC must be enabled first (ENABLE QRESYNC)');
      const list = params.items[++i];
      const [validity, modSeq, known] = list?.type === 'list' ? list.items : [];
      if (list?.type !== 'list' || list.items.length < 2 || list.items.length > 4 || validity.type !== 'atom' || modSeq.type !== 'atom' || !NUMBER.test(validity.value) || !NUMBER.test(modSeq.value)) {
        throw new ImapBadError('Usage: QRESYNC (<uidvalidity> <modseq> [<known uids>])');
      }
      qresync = { uidValidity: Number(validity.value), modSeq: Number(modSeq.value), knownUids: known ? sequenceSetArg(known) : null };
      continue;
    }
    throw new ImapBadError(`${command} parameters are not supported`);
  }
  return qresync;
}

/**
 * RFC 7162 §3.2.5.1: what changed since the client's MODSEQ: `* VANISHED (EARLIER)` for the
 * expunged UIDs (of its known UIDs), then FETCH of the messages whose MODSEQ is higher.
 */
async function resynchronize(session: ImapSession, view: SelectedMailbox, params: QresyncParams): Promise<void> {
  const manager = session.requireManager();
  const user = session.user as string;
  const known = params.knownUids ? resolveSequenceSet(params.knownUids, view.highestUid) : null;
  const vanished = (await manager.expungedSince(user, view.mailbox.id, params.modSeq)).filter((uid) => !known || known.some((r) => uid >= r.from && uid <= r.to));
  if (vanished.length > 0) await session.untagged(`VANISHED (EARLIER) ${formatNumberSet(vanished)}`);
  for await (const message of manager.changedSince(user, view.mailbox.id, params.modSeq)) {
    const sequence = view.sequenceOf(message.uid);
    if (sequence === null) continue;
    await session.untagged(`${sequence} FETCH (UID ${message.uid} FLAGS ${formatFlags(message.flags)} MODSEQ (${message.modSeq}))`);
  }
}

/**
 * RFC 9051 §6.3.2: SELECT/EXAMINE of an IMAP4rev2 session answer a LIST response for the mailbox,
 * with accurate attributes (children, special use) and OLDNAME when the client named it in
 * denormalized UTF-8 (§6.3.9.7). That one LIST also stands for `announceOldName`'s.
 */
async function selectedListLine(session: ImapSession, mailbox: Mailbox, arg: ImapValue): Promise<string> {
  const user = session.user as string;
  const own = mailbox.owner === user;
  const name = own ? normalizeMailboxName(mailbox.name, MAILBOX_DELIMITER) : visibleName(user, mailbox);
  const manager = session.manager;
  // Children the user can see: under an own mailbox only own mailboxes (no ACL work); under another
  // user's, those shared with the user (`l` right).
  const visible =
    own || !manager
      ? (await session.deps.mailboxes.listMailboxes(user)).map((m) => normalizeMailboxName(m.name, MAILBOX_DELIMITER))
      : (await manager.listAccessibleMailboxes(user)).map((entry) => visibleName(user, entry.mailbox));
  const prefix = name + MAILBOX_DELIMITER;
  const attributes = [visible.some((other) => other.startsWith(prefix)) ? '\\HasChildren' : '\\HasNoChildren'];
  const specialUse = own ? specialUseAttribute((mailbox as { role?: MailboxRole | null }).role ?? null) : null;
  if (specialUse) attributes.push(specialUse);
  const sent = denormalizedNameArg(arg, true);
  const oldName = sent === null ? '' : ` ("OLDNAME" (${formatMailboxName(sent, true)}))`;
  return `LIST (${attributes.join(' ')}) ${formatString(MAILBOX_DELIMITER)} ${formatMailboxName(name, true)}${oldName}`;
}

/** SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2). */
export async function openMailbox({ name: command, args, session }: CommandContext, readOnly: boolean): Promise<TaggedResult> {
  let qresync: QresyncParams | null = null;
  if (args.length === 2) {
    qresync = parseSelectParams(session, args[1], command);
  } else if (args.length !== 1) {
    throw new ImapBadError(`Usage: ${command} <mailbox>`);
  }
  const ref = mailboxRefArg(args[0], session.utf8Names());
  // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1). RFC 9051 §7.1 / RFC 7162
  // §3.2.11: a client of IMAP4rev2 or QRESYNC learns where the old mailbox's responses end.
  if (session.selected !== null && (session.isEnabled('IMAP4REV2') || session.isEnabled('QRESYNC'))) {
    await session.untagged('OK [CLOSED] Previous mailbox closed');
  }
  session.unselect();
  const mailboxes = session.deps.mailboxes;
  const { mailbox, rights } = await lookupMailbox(session, ref);
  if (rights !== null) {
    // Another user's mailbox (RFC 4314 §4): reading needs `r`; without any right to change it, read-only.
    if (!rights.includes('r')) throw new ImapNoError('No "r" right on this mailbox', 'NOPERM');
    if (!/[stwie]/.test(rights)) readOnly = true;
  }
  const uids = await mailboxes.listUids(mailbox.id);
  const view = new SelectedMailbox(mailbox, readOnly, uids);
  // A message appended between getMailbox and listUids must stay below UIDNEXT.
  const uidNext = Math.max(mailbox.uidNext, view.highestUid + 1);
  if (session.isEnabled('IMAP4REV2')) await session.untagged(await selectedListLine(session, mailbox, args[0]));
  else await announceOldName(session, args[0], ref, true);
  await session.untagged(`FLAGS (${SYSTEM_FLAGS})`);
  await session.untagged(`${view.exists} EXISTS`);
  // RFC 9051 removed \Recent and the RECENT response.
  if (!session.isEnabled('IMAP4REV2')) {
    await session.untagged('0 RECENT');
    // RFC 3501 §6.3.1: the first unseen message (RFC 9051 dropped it). The counter spares the lookup when all are seen.
    const firstUnseen = ((mailbox as Partial<MailboxInfo>).unseenCount ?? 1) > 0 ? await mailboxes.firstUnseenUid(mailbox.id) : null;
    const sequence = firstUnseen === null ? null : view.sequenceOf(firstUnseen);
    if (sequence !== null) await session.untagged(`OK [UNSEEN ${sequence}] First unseen`);
  }
  await session.untagged(`OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`);
  await session.untagged(`OK [UIDNEXT ${uidNext}] Predicted next UID`);
  await session.untagged(readOnly ? 'OK [PERMANENTFLAGS ()] Read-only mailbox' : `OK [PERMANENTFLAGS (${SYSTEM_FLAGS} \\*)] Flags permitted`);
  if (session.isEnabled('CONDSTORE')) await session.untagged(`OK [HIGHESTMODSEQ ${mailbox.highestModSeq}] Highest`);
  // RFC 8474 §4.2: the mailbox's immutable id.
  if (session.capabilities().includes('OBJECTID')) await session.untagged(`OK [MAILBOXID (${objectId(mailbox.id)})] Ok`);
  await session.select(view);
  if (qresync && qresync.uidValidity === mailbox.uidValidity) await resynchronize(session, view, qresync);
  session.log.debug({ mailboxId: mailbox.id, readOnly }, 'IMAP mailbox selected');
  return ok(`${command} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

export const select: ImapCommand = {
  name: 'SELECT',
  states: ['authenticated', 'selected'],
  handler: (context) => openMailbox(context, false),
};
