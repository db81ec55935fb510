import type { MailetServices } from '../mailet/api';
import type { VacationService } from './vacation-service';

declare module '../mailet/api' {
  interface VacationSettings {
    /** HTML alternative of the notice (James `htmlBody`). */
    htmlBody?: string | null;
  }
  interface MailetServices {
    /** James' NotificationRegistry: true when this vacation of `user` already answered `sender`. */
    vacationNotified?(user: string, sender: string): Promise<boolean>;
    /** Records that `user`'s vacation answered `sender` (until the vacation ends or changes). */
    vacationRegisterNotification?(user: string, sender: string): Promise<void>;
  }
}

/** The VacationMailet's services over the vacation area. */
export function vacationMailetServices(vacation: VacationService): Pick<MailetServices, 'vacation' | 'vacationNotified' | 'vacationRegisterNotification'> {
  return {
    async vacation(user) {
      const active = await vacation.activeAt(user, new Date());
      if (!active) return null;
      return { enabled: true, fromDate: active.fromDate, toDate: active.toDate, subject: active.subject, textBody: active.textBody ?? htmlToText(active.htmlBody ?? ''), htmlBody: active.htmlBody };
    },
    vacationNotified: (user, sender) => vacation.isNotified(user, sender, new Date()),
    vacationRegisterNotification: (user, sender) => vacation.registerNotification(user, sender),
  };
}

/** A readable text part for a notice given only as HTML. */
function htmlToText(html: string): string {
  return html
    .replace(/<(br|\/p|\/div)\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .trim();
}
