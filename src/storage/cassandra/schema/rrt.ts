import type { CassandraSchemaArea } from '../cassandra-schema';

/**
 * Recipient rewrite table, one table per access path (both written in one logged batch):
 * - `rrt_mappings`        (source) → type, value: the mappings of an address or domain in one
 *                         small partition (the lookup done for every recipient of every mail).
 * - `rrt_mapping_sources` (type, value) → source: reverse lookups (aliases of a user, domain aliases
 *                         of a domain) in one slice. Listing everything scans `rrt_mappings` page by page.
 */
export const RRT_SCHEMA: CassandraSchemaArea = {
  name: 'rrt',
  tables: ['rrt_mappings', 'rrt_mapping_sources'],
  migrations: (keyspace) => [
    [
      `CREATE TABLE IF NOT EXISTS ${keyspace}.rrt_mappings (
         source text,
         type text,
         value text,
         PRIMARY KEY ((source), type, value))`,
      `CREATE TABLE IF NOT EXISTS ${keyspace}.rrt_mapping_sources (
         type text,
         value text,
         source text,
         PRIMARY KEY ((type, value), source))`,
    ],
  ],
};
