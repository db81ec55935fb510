import { GHOST, mailKey } from '../../core/mail';
import { MAIL_BUCKET } from '../../blob/api';
import { INBOX } from '../../mailbox/api/mailbox-store';
import { defineMailet, type MailetDefinition } from '../api';

const PROCESSOR_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const toProcessor = defineMailet({
  name: 'ToProcessor',
  durable: false,
  validate(params) {
    if (!params.processor || !PROCESSOR_NAME.test(params.processor)) throw new Error('parameter "processor" is required: the name of a processor');
  },
  async service(mail, _context, params) {
    return { ...mail, state: params.processor };
  },
});

const nullMailet = defineMailet({ name: 'Null', durable: false, service: async (mail) => ({ ...mail, state: GHOST }) });

const toRepository = defineMailet({
  name: 'ToRepository',
  durable: true,
  validate(params) {
    if (!params.repositoryPath) throw new Error('parameter "repositoryPath" is required, e.g. var/mail/error/');
    if (params.passThrough !== undefined && !['true', 'false'].includes(params.passThrough)) throw new Error('parameter "passThrough" must be true or false');
  },
  async service(mail, context, params) {
    // Keyed by the mail key: a retried activity overwrites the same entry instead of adding one.
    await context.mailRepositories.store(params.repositoryPath, mailKey(mail), mail);
    return params.passThrough === 'true' ? mail : { ...mail, state: GHOST };
  },
});

/** Stores the message in each recipient's INBOX (virtual hosting: the user name is the address). */
const localDelivery = defineMailet({
  name: 'LocalDelivery',
  durable: true,
  async service(mail, context) {
    const receivedAt = new Date(mail.receivedAt);
    if (!(await context.blobs.exists(MAIL_BUCKET, mail.messageBlobId))) throw new Error(`Message blob ${mail.messageBlobId} of mail ${mail.mailId} is missing`);
    for (const recipient of mail.recipients) {
      const user = recipient.toLowerCase();
      const inbox = await context.mailboxes.ensureMailbox(user, INBOX);
      await context.mailboxes.appendMessage(inbox.id, {
        blobId: mail.messageBlobId,
        size: mail.size,
        internalDate: receivedAt,
        deliveryKey: `${mailKey(mail)}/${user}`,
      });
    }
    return { ...mail, state: GHOST };
  },
});

export const MAILETS: MailetDefinition[] = [toProcessor, nullMailet, toRepository, localDelivery];
