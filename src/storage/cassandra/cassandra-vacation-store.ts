import type { Vacation, VacationStore } from '../../vacation/api/vacation-store';
import type { CassandraSession } from './cassandra-session';

/** Cassandra's largest TTL (20 years): a registry entry without an end date lives until the vacation changes. */
const MAX_TTL_SECONDS = 630_720_000;

export class CassandraVacationStore implements VacationStore {
  private readonly vacations: string;
  private readonly registry: string;

  constructor(private readonly session: CassandraSession) {
    this.vacations = session.table('vacation');
    this.registry = session.table('vacation_notification_registry');
  }

  async getVacation(user: string): Promise<Vacation | null> {
    const row = (await this.session.execute(`SELECT enabled, from_date, to_date, subject, text_body, html_body FROM ${this.vacations} WHERE username = ?`, [user])).first();
    if (!row) return null;
    return {
      enabled: row.get('enabled') === true,
      fromDate: (row.get('from_date') as string | null) ?? null,
      toDate: (row.get('to_date') as string | null) ?? null,
      subject: (row.get('subject') as string | null) ?? null,
      textBody: (row.get('text_body') as string | null) ?? null,
      htmlBody: (row.get('html_body') as string | null) ?? null,
    };
  }

  async setVacation(user: string, v: Vacation): Promise<void> {
    await this.session.execute(`INSERT INTO ${this.vacations} (username, enabled, from_date, to_date, subject, text_body, html_body) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
      user,
      v.enabled,
      v.fromDate,
      v.toDate,
      v.subject,
      v.textBody,
      v.htmlBody,
    ]);
  }

  async isNotified(user: string, sender: string): Promise<boolean> {
    // Expiry is the row's TTL.
    return (await this.session.execute(`SELECT sender FROM ${this.registry} WHERE username = ? AND sender = ?`, [user, sender])).rowLength > 0;
  }

  async registerNotification(user: string, sender: string, expiresAt: Date | null): Promise<void> {
    const ttl = expiresAt ? Math.ceil((expiresAt.getTime() - Date.now()) / 1000) : MAX_TTL_SECONDS;
    if (ttl <= 0) return;
    await this.session.execute(`INSERT INTO ${this.registry} (username, sender) VALUES (?, ?) USING TTL ?`, [user, sender, Math.min(ttl, MAX_TTL_SECONDS)]);
  }

  async flushNotifications(user: string): Promise<void> {
    await this.session.execute(`DELETE FROM ${this.registry} WHERE username = ?`, [user]);
  }
}
