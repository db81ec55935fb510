import type { MailReference } from '../core/mail';

/** Hands a received mail to processing. Resolves only once the hand-over is durable. */
export interface MailQueue {
  enqueue(mail: MailReference): Promise<void>;
}
