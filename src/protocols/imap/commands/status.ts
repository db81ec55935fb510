import { ImapBadError, ImapNoError } from '../errors';
import { ok } from '../response';
import { formatMailboxName } from '../mailbox-name';
import { objectId } from '../object-id';
import type { ImapCommand } from '../types';
import type { ImapSession } from '../session';
import type { Mailbox } from '../../../mailbox/api/mailbox-store';
import { mailboxRefArg } from './args';
import { lookupMailbox, visibleName } from './lookup';

const SEEN = '\\seen';
const DELETED = '\\deleted';

/** STATUS data items: RFC 3501, RFC 9051 (DELETED, SIZE), RFC 8438 (SIZE), RFC 7162 (HIGHESTMODSEQ), RFC 8474 (MAILBOXID). */
const ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'HIGHESTMODSEQ', 'MAILBOXID']);

/** Parses `(MESSAGES UNSEEN …)`; BAD on an unknown or empty list. */
export function parseStatusItems(session: ImapSession, value: { type: string; items?: unknown[] }): string[] {
  if (value.type !== 'list' || !value.items || value.items.length === 0) throw new ImapBadError('Usage: STATUS <mailbox> (<items>)');
  const items: string[] = [];
  for (const item of value.items as Array<{ type: string; value?: unknown; section?: unknown }>) {
    const name = item.type === 'atom' && !item.section && typeof item.value === 'string' ? item.value.toUpperCase() : '';
    const unavailable = (name === 'RECENT' && session.isEnabled('IMAP4REV2')) || (name === 'MAILBOXID' && !session.capabilities().includes('OBJECTID'));
    if (!ITEMS.has(name) || unavailable) throw new ImapBadError(`Unknown STATUS item ${name || '?'}`);
    if (!items.includes(name)) items.push(name);
  }
  return items;
}

/**
 * The `* STATUS` line of a mailbox. Counts needing flags or sizes stream the messages
 * (`listMessages`), never holding the mailbox in memory.
 */
export async function statusLine(session: ImapSession, mailbox: Mailbox, items: readonly string[]): Promise<string> {
  let unseen = 0;
  let deleted = 0;
  let size = 0;
  let messages = mailbox.messageCount;
  let highestModSeq = mailbox.highestModSeq;
  let uidNext = mailbox.uidNext;
  if (items.some((item) => item === 'UNSEEN' || item === 'DELETED' || item === 'SIZE')) {
    messages = 0;
    for await (const message of session.deps.mailboxes.listMessages(mailbox.id, { from: 1, to: Number.MAX_SAFE_INTEGER })) {
      messages++;
      size += message.size;
      const flags = message.flags.map((f) => f.toLowerCase());
      if (!flags.includes(SEEN)) unseen++;
      if (flags.includes(DELETED)) deleted++;
      highestModSeq = Math.max(highestModSeq, message.modSeq);
      uidNext = Math.max(uidNext, message.uid + 1);
    }
  }
  const values: Record<string, number | string> = {
    MESSAGES: messages,
    RECENT: 0,
    UIDNEXT: uidNext,
    UIDVALIDITY: mailbox.uidValidity,
    UNSEEN: unseen,
    DELETED: deleted,
    SIZE: size,
    HIGHESTMODSEQ: highestModSeq,
    MAILBOXID: `(${objectId(mailbox.id)})`,
  };
  return `STATUS ${formatMailboxName(visibleName(session.user, mailbox), session.utf8Names())} (${items.map((item) => `${item} ${values[item]}`).join(' ')})`;
}

/** RFC 3501 §6.3.10. */
export const status: ImapCommand = {
  name: 'STATUS',
  states: ['authenticated', 'selected'],
  async handler({ args, session }) {
    if (args.length !== 2) throw new ImapBadError('Usage: STATUS <mailbox> (<items>)');
    const ref = mailboxRefArg(args[0], session.utf8Names());
    const items = parseStatusItems(session, args[1]);
    const { mailbox, rights } = await lookupMailbox(session, ref);
    // RFC 4314 §4: STATUS needs `r` (counts reveal what the mailbox holds).
    if (rights !== null && !rights.includes('r')) throw new ImapNoError('No "r" right on this mailbox', 'NOPERM');
    await session.untagged(await statusLine(session, mailbox, items));
    return ok('STATUS completed');
  },
};
