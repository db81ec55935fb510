import type { MailboxRef } from '../../../mailbox/api/mailbox-manager';
import type { Mailbox } from '../../../mailbox/api/mailbox-store';
import { ImapNoError } from '../errors';
import { sharedMailboxName } from '../mailbox-name';
import type { ImapSession } from '../session';

/**
 * The mailbox a command names: one of the user's own, or another user's (other users' namespace)
 * through the manager, with the user's rights on it (null for an own mailbox: all rights).
 * `NO [NONEXISTENT]` when it does not exist or is not visible to the user.
 */
export async function lookupMailbox(session: ImapSession, ref: MailboxRef): Promise<{ mailbox: Mailbox; rights: string | null }> {
  const user = session.user as string;
  if (typeof ref === 'string') {
    const mailbox = await session.deps.mailboxes.getMailbox(user, ref);
    if (!mailbox) throw new ImapNoError('Mailbox does not exist', 'NONEXISTENT');
    return { mailbox, rights: null };
  }
  const manager = session.manager;
  const mailbox = manager && ref.owner !== user ? await manager.getMailbox(user, ref) : manager ? await manager.getMailbox(user, ref.name) : null;
  if (!mailbox) throw new ImapNoError('Mailbox does not exist', 'NONEXISTENT');
  return { mailbox, rights: ref.owner === user ? null : await (manager as NonNullable<typeof manager>).myRights(user, ref) };
}

/** A mailbox's name as `user` sees it: its own name, or its name in the other users' namespace. */
export function visibleName(user: string | null, mailbox: Pick<Mailbox, 'owner' | 'name'>): string {
  return user === null || mailbox.owner === user ? mailbox.name : sharedMailboxName(mailbox.owner, mailbox.name);
}

/**
 * Whether the user may read `ref` (RFC 4314 `r`): RFC 9051 §6.3.12 and §6.4.7 forbid APPENDUID
 * and COPYUID for a mailbox the client can append or copy to but not SELECT/EXAMINE, as they
 * would disclose information about it. Own mailboxes are always readable.
 */
export async function mayRead(session: ImapSession, ref: MailboxRef): Promise<boolean> {
  const user = session.user as string;
  const manager = session.manager;
  if (typeof ref === 'string' || ref.owner === user || !manager) return true;
  return (await manager.myRights(user, ref)).includes('r');
}
