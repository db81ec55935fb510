import type { Mapping } from './mapping';

/**
 * Storage of the recipient rewrite table (one adapter per backend). Validation, loop detection
 * and resolution live above it, in RecipientRewriteTable; adapters only store.
 */
export interface RecipientRewriteTableStore {
  /** Adds a mapping to a source; adding an existing mapping is a no-op. */
  addMapping(source: string, mapping: Mapping): Promise<void>;
  /** Removing a missing mapping is a no-op. */
  removeMapping(source: string, mapping: Mapping): Promise<void>;
  /** Mappings stored for exactly this source, ordered by `compareMappings`. */
  getMappings(source: string): Promise<Mapping[]>;
  /** Every source with its mappings, sources sorted (binary order). */
  listAll(): Promise<Array<{ source: string; mappings: Mapping[] }>>;
  /** Sources holding exactly this mapping (reverse lookup), sorted. */
  listSources(mapping: Mapping): Promise<string[]>;
}
