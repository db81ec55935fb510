import { compareMappings, type Mapping, type MappingType } from '../../rrt/api/mapping';
import type { RecipientRewriteTableStore } from '../../rrt/api/recipient-rewrite-table-store';
import type { CassandraSession } from './cassandra-session';
import { compareBinary } from './sort';

/** Rows per page while listing the whole table. */
const PAGE_SIZE = 1_000;

/** RecipientRewriteTableStore over Cassandra: forward and reverse tables written in one logged batch. */
export class CassandraRecipientRewriteTableStore implements RecipientRewriteTableStore {
  private readonly mappings: string;
  private readonly sources: string;

  constructor(private readonly session: CassandraSession) {
    this.mappings = session.table('rrt_mappings');
    this.sources = session.table('rrt_mapping_sources');
  }

  async addMapping(source: string, mapping: Mapping): Promise<void> {
    await this.session.client.batch(
      [
        { query: `INSERT INTO ${this.mappings} (source, type, value) VALUES (?, ?, ?)`, params: [source, mapping.type, mapping.value] },
        { query: `INSERT INTO ${this.sources} (type, value, source) VALUES (?, ?, ?)`, params: [mapping.type, mapping.value, source] },
      ],
      { prepare: true, logged: true },
    );
  }

  async removeMapping(source: string, mapping: Mapping): Promise<void> {
    await this.session.client.batch(
      [
        { query: `DELETE FROM ${this.mappings} WHERE source = ? AND type = ? AND value = ?`, params: [source, mapping.type, mapping.value] },
        { query: `DELETE FROM ${this.sources} WHERE type = ? AND value = ? AND source = ?`, params: [mapping.type, mapping.value, source] },
      ],
      { prepare: true, logged: true },
    );
  }

  async getMappings(source: string): Promise<Mapping[]> {
    if (source.length === 0) return [];
    const result = await this.session.execute(`SELECT type, value FROM ${this.mappings} WHERE source = ?`, [source]);
    return result.rows.map((row) => ({ type: row.get('type') as MappingType, value: row.get('value') as string })).sort(compareMappings);
  }

  async listAll(): Promise<Array<{ source: string; mappings: Mapping[] }>> {
    const bySource = new Map<string, Mapping[]>();
    for await (const row of this.session.rows(`SELECT source, type, value FROM ${this.mappings}`, [], PAGE_SIZE)) {
      const source = row.get('source') as string;
      let list = bySource.get(source);
      if (!list) bySource.set(source, (list = []));
      list.push({ type: row.get('type') as MappingType, value: row.get('value') as string });
    }
    return [...bySource.keys()].sort(compareBinary).map((source) => ({ source, mappings: (bySource.get(source) as Mapping[]).sort(compareMappings) }));
  }

  async listSources(mapping: Mapping): Promise<string[]> {
    const result = await this.session.execute(`SELECT source FROM ${this.sources} WHERE type = ? AND value = ?`, [mapping.type, mapping.value]);
    return result.rows.map((row) => row.get('source') as string);
  }
}
