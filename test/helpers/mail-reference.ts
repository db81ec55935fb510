import { randomUUID } from 'node:crypto';
import { locallyCreatedMail, type MailReference } from '../../src/core/mail';

/** A mail reference as SMTP would hand it over, with the given fields (a fresh id, one recipient, state root by default). */
export function testMailReference(fields: Partial<MailReference> = {}): MailReference {
  return locallyCreatedMail({ mailId: randomUUID(), sender: 'sender@remote.example', recipients: ['alice@example.test'], messageBlobId: 'f'.repeat(64), size: 0, ...fields });
}
