import { types } from 'cassandra-driver';
import type { LoginFailureStore } from '../../auth/api/login-failure-store';
import type { CassandraSession } from './cassandra-session';

/**
 * Login failures over Cassandra: one partition per key, one row per failure clustered by a
 * time UUID, written with the window as TTL so nothing outlives it.
 */
export class CassandraLoginFailureStore implements LoginFailureStore {
  private readonly table: string;

  constructor(private readonly session: CassandraSession) {
    this.table = session.table('login_failures');
  }

  async count(key: string, sinceMs: number): Promise<number> {
    const row = (await this.session.execute(`SELECT COUNT(*) AS n FROM ${this.table} WHERE key = ? AND at > minTimeuuid(?)`, [key, new Date(sinceMs)])).first();
    return Number(row?.get('n') ?? 0);
  }

  async record(key: string, atMs: number, ttlSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    await this.session.execute(`INSERT INTO ${this.table} (key, at) VALUES (?, ?) USING TTL ?`, [key, types.TimeUuid.fromDate(new Date(atMs)), ttl]);
  }

  async clear(key: string): Promise<void> {
    await this.session.execute(`DELETE FROM ${this.table} WHERE key = ?`, [key]);
  }
}
