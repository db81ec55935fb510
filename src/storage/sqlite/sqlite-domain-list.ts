import type Database from 'better-sqlite3';
import { parseDomain } from '../../core/address';
import type { DomainList } from '../../domains/api/domain-list';
import { StatementCache } from './statement-cache';

export class SqliteDomainList implements DomainList {
  private readonly sql: StatementCache;

  constructor(db: Database.Database) {
    this.sql = new StatementCache(db);
  }

  async addDomain(domain: string): Promise<void> {
    this.sql.get('INSERT OR IGNORE INTO domains (name) VALUES (?)').run(parseDomain(domain));
  }

  async removeDomain(domain: string): Promise<void> {
    this.sql.get('DELETE FROM domains WHERE name = ?').run(parseDomain(domain));
  }

  async containsDomain(domain: string): Promise<boolean> {
    return this.sql.get('SELECT 1 FROM domains WHERE name = ?').get(domain.toLowerCase()) !== undefined;
  }

  async listDomains(): Promise<string[]> {
    return (this.sql.get('SELECT name FROM domains ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  }
}
