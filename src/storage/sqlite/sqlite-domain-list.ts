import type Database from 'better-sqlite3';
import { parseDomain } from '../../core/address';
import type { DomainList } from '../../domains/api/domain-list';

export class SqliteDomainList implements DomainList {
  constructor(private readonly db: Database.Database) {}

  async addDomain(domain: string): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO domains (name) VALUES (?)').run(parseDomain(domain));
  }

  async removeDomain(domain: string): Promise<void> {
    this.db.prepare('DELETE FROM domains WHERE name = ?').run(parseDomain(domain));
  }

  async containsDomain(domain: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM domains WHERE name = ?').get(domain.toLowerCase()) !== undefined;
  }

  async listDomains(): Promise<string[]> {
    return (this.db.prepare('SELECT name FROM domains ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  }
}
