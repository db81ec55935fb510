import type { MailReference } from '../src/core/mail';
import type { SendAttemptResult } from '../src/core/outgoing';
import type { SmtpSender } from '../src/remote-delivery/smtp-sender';

/** The SMTP side of deliverRemotely. */
export function createRemoteDeliveryActivities(deps: { sender: SmtpSender }) {
  return {
    /** One SMTP attempt for the mail's recipients of one domain; never throws on an SMTP answer. */
    async sendToDomain(mail: MailReference, domain: string, gateway: string[], sendPartial?: boolean): Promise<SendAttemptResult> {
      // Absent in the histories of deliveries queued before the parameter existed: they keep sending partially.
      return deps.sender.send(mail, domain, gateway, sendPartial ?? true);
    },
  };
}

export type RemoteDeliveryActivities = ReturnType<typeof createRemoteDeliveryActivities>;
