import type Database from 'better-sqlite3';
import type { StoredUser, UsersRepository } from '../../users/api/users-repository';
import { BoundedCache } from '../../core/bounded-cache';
import { StatementCache } from './statement-cache';

interface UserRow {
  username: string;
  password_hash: string;
  disabled: number;
}

export class SqliteUsersRepository implements UsersRepository {
  private readonly sql: StatementCache;
  /** `getUser` per username, unknown ones included (RCPT and the processor graph ask for every recipient). */
  private readonly users = new BoundedCache<StoredUser | null>();

  constructor(db: Database.Database) {
    this.sql = new StatementCache(db);
  }

  async upsertUser(user: StoredUser): Promise<void> {
    this.sql
      .get(
        'INSERT INTO users (username, password_hash, disabled) VALUES (?, ?, ?) ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, disabled = excluded.disabled',
      )
      .run(user.username, user.passwordHash, user.disabled ? 1 : 0);
    this.users.clear();
  }

  async getUser(username: string): Promise<StoredUser | null> {
    const kept = this.users.get(username, () => {
      const row = this.sql.get('SELECT username, password_hash, disabled FROM users WHERE username = ?').get(username) as UserRow | undefined;
      return row ? { username: row.username, passwordHash: row.password_hash, disabled: row.disabled === 1 } : null;
    });
    return kept && { ...kept };
  }

  async removeUser(username: string): Promise<void> {
    this.sql.get('DELETE FROM users WHERE username = ?').run(username);
    this.users.clear();
  }

  async listUsers(): Promise<string[]> {
    return (this.sql.get('SELECT username FROM users ORDER BY username').all() as { username: string }[]).map((r) => r.username);
  }
}
