import type Database from 'better-sqlite3';
import { compareMappings, type Mapping, type MappingType } from '../../rrt/api/mapping';
import type { RecipientRewriteTableStore } from '../../rrt/api/recipient-rewrite-table-store';
import { BoundedCache } from '../../core/bounded-cache';
import { StatementCache } from './statement-cache';

interface MappingRow {
  source: string;
  type: MappingType;
  value: string;
}

export class SqliteRecipientRewriteTableStore implements RecipientRewriteTableStore {
  private readonly sql: StatementCache;
  /** `getMappings` per source (most are empty: a user without alias, a domain without mapping). */
  private readonly mappings = new BoundedCache<readonly Mapping[]>();

  constructor(db: Database.Database) {
    this.sql = new StatementCache(db);
  }

  async addMapping(source: string, mapping: Mapping): Promise<void> {
    this.sql.get('INSERT OR IGNORE INTO rrt_mappings (source, type, value) VALUES (?, ?, ?)').run(source, mapping.type, mapping.value);
    this.mappings.clear();
  }

  async removeMapping(source: string, mapping: Mapping): Promise<void> {
    this.sql.get('DELETE FROM rrt_mappings WHERE source = ? AND type = ? AND value = ?').run(source, mapping.type, mapping.value);
    this.mappings.clear();
  }

  async getMappings(source: string): Promise<Mapping[]> {
    const kept = this.mappings.get(source, () => {
      const rows = this.sql.get('SELECT type, value FROM rrt_mappings WHERE source = ?').all(source) as MappingRow[];
      return rows.map(({ type, value }) => ({ type, value })).sort(compareMappings);
    });
    return kept.map(({ type, value }) => ({ type, value }));
  }

  async listAll(): Promise<Array<{ source: string; mappings: Mapping[] }>> {
    const rows = this.sql.get('SELECT source, type, value FROM rrt_mappings ORDER BY source').all() as MappingRow[];
    const bySource = new Map<string, Mapping[]>();
    for (const row of rows) {
      let list = bySource.get(row.source);
      if (!list) bySource.set(row.source, (list = []));
      list.push({ type: row.type, value: row.value });
    }
    return [...bySource.entries()].map(([source, mappings]) => ({ source, mappings: mappings.sort(compareMappings) }));
  }

  async listSources(mapping: Mapping): Promise<string[]> {
    return this.sql.get('SELECT source FROM rrt_mappings WHERE type = ? AND value = ? ORDER BY source').pluck().all(mapping.type, mapping.value) as string[];
  }
}
