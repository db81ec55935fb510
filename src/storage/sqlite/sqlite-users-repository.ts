import type Database from 'better-sqlite3';
import type { StoredUser, UsersRepository } from '../../users/api/users-repository';
import { StatementCache } from './statement-cache';

interface UserRow {
  username: string;
  password_hash: string;
  disabled: number;
}

export class SqliteUsersRepository implements UsersRepository {
  private readonly sql: StatementCache;

  constructor(db: Database.Database) {
    this.sql = new StatementCache(db);
  }

  async upsertUser(user: StoredUser): Promise<void> {
    this.sql
      .get(
        'INSERT INTO users (username, password_hash, disabled) VALUES (?, ?, ?) ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, disabled = excluded.disabled',
      )
      .run(user.username, user.passwordHash, user.disabled ? 1 : 0);
  }

  async getUser(username: string): Promise<StoredUser | null> {
    const row = this.sql.get('SELECT username, password_hash, disabled FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row ? { username: row.username, passwordHash: row.password_hash, disabled: row.disabled === 1 } : null;
  }

  async removeUser(username: string): Promise<void> {
    this.sql.get('DELETE FROM users WHERE username = ?').run(username);
  }

  async listUsers(): Promise<string[]> {
    return (this.sql.get('SELECT username FROM users ORDER BY username').all() as { username: string }[]).map((r) => r.username);
  }
}
