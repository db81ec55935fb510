import type { MailReference } from '../core/mail';

/**
 * Mails a protocol server accepted (answered 250) whose processing workflow is not started yet:
 * the durable hand-off between the `250` and Temporal (JournaledMailHandOff). A row lives for the
 * few milliseconds of a start, or until Temporal is reachable again.
 */
export interface AcceptedMailJournal {
  /** Durable when it resolves. */
  add(mail: MailReference): Promise<void>;
  remove(mailId: string): Promise<void>;
  /** Every journaled mail, oldest first (recovery after a restart). */
  list(): Promise<MailReference[]>;
}
