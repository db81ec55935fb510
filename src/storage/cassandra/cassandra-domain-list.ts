import { parseDomain } from '../../core/address';
import type { DomainList } from '../../domains/api/domain-list';
import type { CassandraSession } from './cassandra-session';
import { compareBinary } from './sort';

/** Rows per page while listing every domain. */
const PAGE_SIZE = 1_000;

/** DomainList over Cassandra: one single-row partition per domain. */
export class CassandraDomainList implements DomainList {
  private readonly table: string;

  constructor(private readonly session: CassandraSession) {
    this.table = session.table('domains');
  }

  async addDomain(domain: string): Promise<void> {
    await this.session.execute(`INSERT INTO ${this.table} (name) VALUES (?)`, [parseDomain(domain)]);
  }

  async removeDomain(domain: string): Promise<void> {
    await this.session.execute(`DELETE FROM ${this.table} WHERE name = ?`, [parseDomain(domain)]);
  }

  async containsDomain(domain: string): Promise<boolean> {
    const name = domain.toLowerCase();
    if (name.length === 0) return false;
    return (await this.session.execute(`SELECT name FROM ${this.table} WHERE name = ?`, [name])).rowLength > 0;
  }

  async listDomains(): Promise<string[]> {
    const names: string[] = [];
    for await (const row of this.session.rows(`SELECT name FROM ${this.table}`, [], PAGE_SIZE)) names.push(row.get('name') as string);
    return names.sort(compareBinary);
  }
}
