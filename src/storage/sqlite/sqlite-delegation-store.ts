import type Database from 'better-sqlite3';
import type { DelegationStore } from '../../users/api/delegation-store';

export class SqliteDelegationStore implements DelegationStore {
  constructor(private readonly db: Database.Database) {}

  async addAuthorizedUser(baseUser: string, authorizedUser: string): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO delegations (base_user, authorized_user) VALUES (?, ?)').run(baseUser, authorizedUser);
  }

  async removeAuthorizedUser(baseUser: string, authorizedUser: string): Promise<void> {
    this.db.prepare('DELETE FROM delegations WHERE base_user = ? AND authorized_user = ?').run(baseUser, authorizedUser);
  }

  async authorizedUsers(baseUser: string): Promise<string[]> {
    return this.db.prepare('SELECT authorized_user FROM delegations WHERE base_user = ? ORDER BY authorized_user').pluck().all(baseUser) as string[];
  }

  async delegatedUsers(authorizedUser: string): Promise<string[]> {
    return this.db.prepare('SELECT base_user FROM delegations WHERE authorized_user = ? ORDER BY base_user').pluck().all(authorizedUser) as string[];
  }

  async clear(baseUser: string): Promise<void> {
    this.db.prepare('DELETE FROM delegations WHERE base_user = ?').run(baseUser);
  }
}
