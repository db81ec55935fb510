/**
 * A user's vacation notice (James `Vacation`). Dates are ISO-8601 instants; a null bound is open.
 */
export interface Vacation {
  enabled: boolean;
  fromDate: string | null;
  toDate: string | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

/** The vacation of a user who never set one (James' default: disabled, nothing set). */
export const NO_VACATION: Vacation = { enabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null };

/**
 * Vacation notices and James' NotificationRegistry: which senders a user's vacation already
 * answered, so a sender gets one reply per vacation. User names and senders are lower-case addresses.
 */
export interface VacationStore {
  /** The stored vacation, or null when the user never set one. */
  getVacation(user: string): Promise<Vacation | null>;
  setVacation(user: string, vacation: Vacation): Promise<void>;
  /** True when `sender` was answered for `user` and that entry has not expired at `now`. */
  isNotified(user: string, sender: string, now: Date): Promise<boolean>;
  /** Records that `sender` was answered; forgotten after `expiresAt` (never when null). */
  registerNotification(user: string, sender: string, expiresAt: Date | null): Promise<void>;
  /** Forgets every answered sender of `user` (a changed vacation answers everyone again). */
  flushNotifications(user: string): Promise<void>;
}
