import { INBOX, type MailboxRole } from './mailbox-store';

/** The mailboxes `provisionUser` creates (what Thunderbird and the JMAP roles expect), with their RFC 6154 roles. */
export const DEFAULT_MAILBOXES: readonly { name: string; role: MailboxRole }[] = [
  { name: INBOX, role: 'inbox' },
  { name: 'Drafts', role: 'drafts' },
  { name: 'Sent', role: 'sent' },
  { name: 'Trash', role: 'trash' },
  { name: 'Junk', role: 'junk' },
  { name: 'Archive', role: 'archive' },
];

/** RFC 6154 attribute of a role, for IMAP LIST (INBOX has none). */
export function specialUseAttribute(role: MailboxRole | null): string | null {
  switch (role) {
    case 'drafts':
      return '\\Drafts';
    case 'sent':
      return '\\Sent';
    case 'trash':
      return '\\Trash';
    case 'junk':
      return '\\Junk';
    case 'archive':
      return '\\Archive';
    default:
      return null;
  }
}
