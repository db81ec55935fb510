import type { Logger } from 'pino';
import { InvalidInputError } from '../core/errors';
import { NO_VACATION, type Vacation, type VacationStore } from './api/vacation-store';

/** Longest subject of a vacation notice, in characters (a header line, folded; generous). */
export const MAX_SUBJECT_LENGTH = 998;
/** Longest text or HTML body of a vacation notice, in characters: a notice, not a newsletter. */
export const MAX_BODY_LENGTH = 100_000;

/** James' VacationPatch: absent (or null) fields keep their value. */
export type VacationPatch = Partial<Vacation>;

/**
 * Vacation notices of users (James `VacationService`): read with defaults, patched with
 * validation, and the notification registry flushed whenever the notice changes.
 */
export class VacationService {
  constructor(
    private readonly store: VacationStore,
    private readonly logger: Logger,
  ) {}

  async get(user: string): Promise<Vacation> {
    return (await this.store.getVacation(user)) ?? { ...NO_VACATION };
  }

  async modify(user: string, patch: VacationPatch): Promise<Vacation> {
    const current = await this.get(user);
    const next: Vacation = { ...current };
    for (const key of Object.keys(NO_VACATION) as (keyof Vacation)[]) {
      const value = patch[key];
      if (value !== undefined && value !== null) (next as unknown as Record<string, unknown>)[key] = value;
    }
    validate(next);
    await this.store.setVacation(user, next);
    await this.store.flushNotifications(user);
    this.logger.info({ user, enabled: next.enabled }, 'vacation updated');
    return next;
  }

  /** James' DELETE: disabled, every field removed. */
  async reset(user: string): Promise<void> {
    await this.store.setVacation(user, { ...NO_VACATION });
    await this.store.flushNotifications(user);
    this.logger.info({ user }, 'vacation reset');
  }

  /** The notice to answer with now, or null (disabled, outside its dates, or nothing to say). */
  async activeAt(user: string, now: Date): Promise<Vacation | null> {
    const vacation = await this.store.getVacation(user);
    if (!vacation?.enabled) return null;
    if (vacation.fromDate && new Date(vacation.fromDate) > now) return null;
    if (vacation.toDate && new Date(vacation.toDate) < now) return null;
    if (!vacation.textBody && !vacation.htmlBody) return null;
    return vacation;
  }

  /** James' NotificationRegistry: true when this vacation of `user` already answered `sender`. */
  isNotified(user: string, sender: string, now: Date): Promise<boolean> {
    return this.store.isNotified(user, sender.toLowerCase(), now);
  }

  /** Records the answer to `sender` until the vacation's end (or until it changes, without an end). */
  async registerNotification(user: string, sender: string): Promise<void> {
    const vacation = await this.store.getVacation(user);
    await this.store.registerNotification(user, sender.toLowerCase(), vacation?.toDate ? new Date(vacation.toDate) : null);
  }
}

function validate(vacation: Vacation): void {
  if (typeof vacation.enabled !== 'boolean') throw new InvalidInputError('"enabled" must be a boolean');
  for (const key of ['fromDate', 'toDate'] as const) {
    const value = vacation[key];
    if (value === null) continue;
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
      throw new InvalidInputError(`"${key}" must be an ISO-8601 date-time with a zone (e.g. 2021-09-20T10:00:00Z), not ${JSON.stringify(value)}`);
    }
  }
  if (vacation.fromDate && vacation.toDate && Date.parse(vacation.fromDate) > Date.parse(vacation.toDate)) throw new InvalidInputError('"fromDate" must not be after "toDate"');
  for (const [key, max] of [['subject', MAX_SUBJECT_LENGTH], ['textBody', MAX_BODY_LENGTH], ['htmlBody', MAX_BODY_LENGTH]] as const) {
    const value = vacation[key];
    if (value === null) continue;
    if (typeof value !== 'string') throw new InvalidInputError(`"${key}" must be a string`);
    if (value.length > max) throw new InvalidInputError(`"${key}" is longer than ${max} characters`);
  }
  if (vacation.subject !== null && /[\r\n]/.test(vacation.subject)) throw new InvalidInputError('"subject" must be one line');
}
