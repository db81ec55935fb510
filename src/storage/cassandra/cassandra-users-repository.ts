import type { StoredUser, UsersRepository } from '../../users/api/users-repository';
import type { CassandraSession } from './cassandra-session';
import { compareBinary } from './sort';

/** Rows per page while listing every user. */
const PAGE_SIZE = 1_000;

/** UsersRepository over Cassandra: one single-row partition per user. */
export class CassandraUsersRepository implements UsersRepository {
  private readonly table: string;

  constructor(private readonly session: CassandraSession) {
    this.table = session.table('users');
  }

  async upsertUser(user: StoredUser): Promise<void> {
    await this.session.execute(`INSERT INTO ${this.table} (username, password_hash, disabled) VALUES (?, ?, ?)`, [user.username, user.passwordHash, user.disabled ?? false]);
  }

  async getUser(username: string): Promise<StoredUser | null> {
    if (username.length === 0) return null;
    const row = (await this.session.execute(`SELECT username, password_hash, disabled FROM ${this.table} WHERE username = ?`, [username])).first();
    return row ? { username: row.get('username') as string, passwordHash: row.get('password_hash') as string, disabled: row.get('disabled') === true } : null;
  }

  async removeUser(username: string): Promise<void> {
    if (username.length === 0) return;
    await this.session.execute(`DELETE FROM ${this.table} WHERE username = ?`, [username]);
  }

  /** Sorted by name like the embedded adapter; Cassandra itself returns token order. */
  async listUsers(): Promise<string[]> {
    const names: string[] = [];
    for await (const row of this.session.rows(`SELECT username FROM ${this.table}`, [], PAGE_SIZE)) names.push(row.get('username') as string);
    return names.sort(compareBinary);
  }
}
