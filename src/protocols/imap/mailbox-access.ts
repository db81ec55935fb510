import type { MailboxManager } from '../../mailbox/api/mailbox-manager';
import type { MailboxStore } from '../../mailbox/api/mailbox-store';

/**
 * The full mailbox model when the wired store implements it (`StoreMailboxManager`), null for a
 * plain MailboxStore. Commands that need it (CREATE, STORE, APPEND, COPY…) exist and are
 * advertised only with a manager, so a profile whose adapter has not moved to the mapper yet
 * keeps the first slice's command set.
 */
export function mailboxManager(store: MailboxStore): MailboxManager | null {
  const candidate = store as Partial<MailboxManager>;
  return typeof candidate.updateFlags === 'function' && typeof candidate.copyMessages === 'function' && typeof candidate.listSubscriptions === 'function'
    ? (store as MailboxManager)
    : null;
}
