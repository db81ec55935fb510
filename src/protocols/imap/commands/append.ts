import { Readable } from 'node:stream';
import { MAIL_BUCKET } from '../../../blob/api/blob-store';
import type { MessageRecord } from '../../../mailbox/api/mailbox-store';
import { ImapBadError, ImapNoError } from '../errors';
import { MAX_APPEND_SIZE } from '../limits';
import type { ImapValue } from '../parser';
import { formatNumberSet } from '../search/query';
import { ok } from '../response';
import type { ImapCommand } from '../types';
import { mailboxRefArg } from './args';
import { flagListArg } from './mailbox-args';
import { mayRead } from './lookup';
import { announceOldName } from './oldname';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DATE_TIME = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** date-time of RFC 3501 §9: `"17-Jul-1996 02:44:25 -0700"`. */
export function parseDateTime(text: string): Date | null {
  const match = DATE_TIME.exec(text);
  if (!match) return null;
  const month = MONTHS.findIndex((m) => m.toLowerCase() === match[2].toLowerCase());
  if (month === -1) return null;
  const [day, year, hour, minute, second, tzHour, tzMinute] = [match[1], match[3], match[4], match[5], match[6], match[8], match[9]].map((v) => Number(v.trim()));
  const offset = (match[7] === '-' ? -1 : 1) * (tzHour * 60 + tzMinute);
  const date = new Date(Date.UTC(year, month, day, hour, minute, second) - offset * 60_000);
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || Number.isNaN(date.getTime())) return null;
  return date;
}

interface AppendMessage {
  flags: string[];
  internalDate: Date;
  /** The literal's bytes as they arrived (never joined: a large message is held once). */
  content: readonly Buffer[];
  size: number;
}

function parseMessages(args: readonly ImapValue[]): AppendMessage[] {
  const messages: AppendMessage[] = [];
  let i = 0;
  while (i < args.length) {
    let flags: string[] = [];
    let internalDate = new Date();
    if (args[i]?.type === 'list') flags = flagListArg(args[i++]);
    const date = args[i];
    if (date?.type === 'quoted') {
      const parsed = parseDateTime(date.value);
      if (!parsed) throw new ImapBadError('Invalid APPEND date-time');
      internalDate = parsed;
      i++;
    }
    const content = args[i++];
    if (content?.type !== 'literal') throw new ImapBadError('APPEND needs the message as a literal');
    if (content.length > MAX_APPEND_SIZE) throw new ImapNoError(`Message larger than ${MAX_APPEND_SIZE} octets`, 'TOOBIG');
    messages.push({ flags, internalDate, content: content.chunks ?? [content.value], size: content.length });
  }
  if (messages.length === 0) throw new ImapBadError('Usage: APPEND <mailbox> [(<flags>)] [<date-time>] <literal>');
  return messages;
}

/**
 * RFC 3501 §6.3.11 with MULTIAPPEND (RFC 3502), APPENDUID (RFC 4315) and APPENDLIMIT (RFC 7889).
 * Each message is stored in the blob store, then appended; the OK means all of them are durable.
 * A failure part-way removes the messages appended before it (MULTIAPPEND is all or nothing).
 */
export const append: ImapCommand = {
  name: 'APPEND',
  states: ['authenticated', 'selected'],
  needsManager: true,
  async handler({ args, session }) {
    if (args.length < 2) throw new ImapBadError('Usage: APPEND <mailbox> [(<flags>)] [<date-time>] <literal>');
    const name = mailboxRefArg(args[0], session.utf8Names());
    const messages = parseMessages(args.slice(1));
    const manager = session.requireManager();
    const user = session.user as string;
    const mailbox = await manager.getMailbox(user, name);
    if (!mailbox) throw new ImapNoError('Mailbox does not exist', 'TRYCREATE');
    const appended: MessageRecord[] = [];
    try {
      for (const message of messages) {
        // Streamed chunk by chunk to the blob store; the chunks are released with the command.
        const stored = await session.deps.blobs.put(MAIL_BUCKET, message.content.length === 1 ? message.content[0] : Readable.from(message.content), { maxBytes: MAX_APPEND_SIZE });
        appended.push(await manager.append(user, mailbox.id, { blobId: stored.blobId, size: stored.size, internalDate: message.internalDate, flags: message.flags }));
      }
    } catch (err) {
      if (appended.length > 0) {
        const ranges = appended.map((m) => ({ from: m.uid, to: m.uid }));
        await manager
          .updateFlags(user, mailbox.id, ranges, { mode: 'add', flags: ['\\Deleted'] })
          .then(() => manager.expunge(user, mailbox.id, ranges))
          .catch((cleanup: unknown) => session.log.error({ err: cleanup }, 'IMAP MULTIAPPEND could not remove the messages of a failed command'));
      }
      throw err;
    }
    await announceOldName(session, args[0], name, true);
    if (session.selected?.mailbox.id === mailbox.id) await session.reportChanges();
    if (!(await mayRead(session, name))) return ok('APPEND completed');
    return ok('APPEND completed', `APPENDUID ${mailbox.uidValidity} ${formatNumberSet(appended.map((m) => m.uid))}`);
  },
};
