import type { DelegationStore } from '../../users/api/delegation-store';
import type { CassandraSession } from './cassandra-session';

/** DelegationStore over Cassandra: both directions written in one logged batch. */
export class CassandraDelegationStore implements DelegationStore {
  private readonly byBase: string;
  private readonly byAuthorized: string;

  constructor(private readonly session: CassandraSession) {
    this.byBase = session.table('delegation_by_base');
    this.byAuthorized = session.table('delegation_by_authorized');
  }

  async addAuthorizedUser(baseUser: string, authorizedUser: string): Promise<void> {
    await this.session.client.batch(
      [
        { query: `INSERT INTO ${this.byBase} (base_user, authorized_user) VALUES (?, ?)`, params: [baseUser, authorizedUser] },
        { query: `INSERT INTO ${this.byAuthorized} (authorized_user, base_user) VALUES (?, ?)`, params: [authorizedUser, baseUser] },
      ],
      { prepare: true, logged: true },
    );
  }

  async removeAuthorizedUser(baseUser: string, authorizedUser: string): Promise<void> {
    await this.session.client.batch(
      [
        { query: `DELETE FROM ${this.byBase} WHERE base_user = ? AND authorized_user = ?`, params: [baseUser, authorizedUser] },
        { query: `DELETE FROM ${this.byAuthorized} WHERE authorized_user = ? AND base_user = ?`, params: [authorizedUser, baseUser] },
      ],
      { prepare: true, logged: true },
    );
  }

  async authorizedUsers(baseUser: string): Promise<string[]> {
    const result = await this.session.execute(`SELECT authorized_user FROM ${this.byBase} WHERE base_user = ?`, [baseUser]);
    return result.rows.map((row) => row.get('authorized_user') as string);
  }

  async delegatedUsers(authorizedUser: string): Promise<string[]> {
    const result = await this.session.execute(`SELECT base_user FROM ${this.byAuthorized} WHERE authorized_user = ?`, [authorizedUser]);
    return result.rows.map((row) => row.get('base_user') as string);
  }

  async clear(baseUser: string): Promise<void> {
    for (const authorizedUser of await this.authorizedUsers(baseUser)) await this.removeAuthorizedUser(baseUser, authorizedUser);
  }
}
