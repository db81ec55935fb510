import type Database from 'better-sqlite3';
import type { MailReference } from '../../core/mail';
import type { KeyPage, MailRepositoryStore, StoredMail } from '../../mailrepository/api/mail-repository-store';

export class SqliteMailRepositoryStore implements MailRepositoryStore {
  constructor(private readonly db: Database.Database) {}

  async store(repository: string, key: string, mail: MailReference): Promise<void> {
    this.db
      .prepare('INSERT INTO mail_repository (repository, key, mail, stored_at) VALUES (?, ?, ?, ?) ON CONFLICT (repository, key) DO UPDATE SET mail = excluded.mail')
      .run(repository, key, JSON.stringify(mail), Date.now());
  }

  async get(repository: string, key: string): Promise<StoredMail | null> {
    const row = this.db.prepare('SELECT mail, stored_at FROM mail_repository WHERE repository = ? AND key = ?').get(repository, key) as
      | { mail: string; stored_at: number }
      | undefined;
    return row ? { key, mail: JSON.parse(row.mail) as MailReference, storedAt: new Date(row.stored_at) } : null;
  }

  async listKeys(repository: string, page: KeyPage = {}): Promise<string[]> {
    const limit = page.limit ?? -1;
    const offset = page.offset ?? 0;
    const rows = this.db
      .prepare('SELECT key FROM mail_repository WHERE repository = ? AND key > ? ORDER BY key LIMIT ? OFFSET ?')
      .all(repository, page.after ?? '', limit, offset) as { key: string }[];
    return rows.map((r) => r.key);
  }

  async size(repository: string): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM mail_repository WHERE repository = ?').get(repository) as { n: number }).n;
  }

  async remove(repository: string, key: string): Promise<void> {
    this.db.prepare('DELETE FROM mail_repository WHERE repository = ? AND key = ?').run(repository, key);
  }

  async listRepositories(): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT repository FROM mail_repository ORDER BY repository').all() as { repository: string }[]).map((r) => r.repository);
  }
}
