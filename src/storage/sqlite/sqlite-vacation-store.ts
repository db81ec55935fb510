import type Database from 'better-sqlite3';
import { BoundedCache } from '../../core/bounded-cache';
import { StatementCache } from './statement-cache';
import type { Vacation, VacationStore } from '../../vacation/api/vacation-store';

interface Row {
  enabled: number;
  from_date: string | null;
  to_date: string | null;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
}

/** VacationStore over SQLite; statements compiled once (getVacation runs for every recipient of every mail). */
export class SqliteVacationStore implements VacationStore {
  private readonly statements: StatementCache;
  /** `getVacation` per user, those without one included. */
  private readonly vacations = new BoundedCache<Vacation | null>();

  constructor(db: Database.Database) {
    this.statements = new StatementCache(db);
  }

  async getVacation(user: string): Promise<Vacation | null> {
    const kept = this.vacations.get(user, () => {
      const row = this.statements.get('SELECT enabled, from_date, to_date, subject, text_body, html_body FROM vacations WHERE username = ?').get(user) as Row | undefined;
      if (!row) return null;
      return { enabled: row.enabled === 1, fromDate: row.from_date, toDate: row.to_date, subject: row.subject, textBody: row.text_body, htmlBody: row.html_body };
    });
    return kept && { ...kept };
  }

  async setVacation(user: string, v: Vacation): Promise<void> {
    this.statements
      .get(
        `INSERT INTO vacations (username, enabled, from_date, to_date, subject, text_body, html_body) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET enabled = excluded.enabled, from_date = excluded.from_date, to_date = excluded.to_date,
           subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body`,
      )
      .run(user, v.enabled ? 1 : 0, v.fromDate, v.toDate, v.subject, v.textBody, v.htmlBody);
    this.vacations.clear();
  }

  async isNotified(user: string, sender: string, now: Date): Promise<boolean> {
    const row = this.statements.get('SELECT expires_at FROM vacation_notifications WHERE username = ? AND sender = ?').get(user, sender) as { expires_at: number | null } | undefined;
    return row !== undefined && (row.expires_at === null || row.expires_at > now.getTime());
  }

  async registerNotification(user: string, sender: string, expiresAt: Date | null): Promise<void> {
    this.statements
      .get('INSERT INTO vacation_notifications (username, sender, expires_at) VALUES (?, ?, ?) ON CONFLICT (username, sender) DO UPDATE SET expires_at = excluded.expires_at')
      .run(user, sender, expiresAt ? expiresAt.getTime() : null);
  }

  async flushNotifications(user: string): Promise<void> {
    this.statements.get('DELETE FROM vacation_notifications WHERE username = ?').run(user);
  }
}
