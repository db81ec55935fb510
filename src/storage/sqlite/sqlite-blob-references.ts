import Database from 'better-sqlite3';
import type { BlobReferenceSource } from '../../blob/api/blob-references';
import { BLOB_ID_COLUMN, collectColumnValue, collectJsonTextBlobIds } from '../../blob/gc/blob-id-columns';
import { PermanentError } from '../../core/errors';

/** Ids handed to the collector per batch. */
const BATCH_SIZE = 1_000;

/** Columns holding whole JSON documents with blob references inside (a mail repository's mails). */
const JSON_DOCUMENT_COLUMNS: ReadonlyArray<{ table: string; column: string }> = [
  { table: 'mail_repository', column: 'mail' },
  // Mails accepted and not yet started (the journal hand-off): their message blob is in use.
  { table: 'accepted_mails', column: 'reference' },
];

interface ReferenceColumn {
  table: string;
  column: string;
  kind: 'ids' | 'json';
}

/**
 * The blob ids referenced by the embedded profile's database: every `…blob_id(s)` column of every
 * table (messages today, whatever the mailbox schema adds) and the mails of the mail repositories.
 * Read-only, on a connection of its own inside one read transaction: the scan sees one consistent
 * snapshot (WAL), and never blocks or joins the writes of the node's main connection.
 */
export class SqliteBlobReferences implements BlobReferenceSource {
  readonly name = 'sqlite';
  readonly kind = 'stored';

  constructor(private readonly db: Database.Database) {}

  /** The tables and columns read, for progress and tests. */
  columns(): ReferenceColumn[] {
    return discover(this.db);
  }

  async *references(signal?: AbortSignal): AsyncIterable<string[]> {
    if (this.db.memory) throw new PermanentError('The blob references of an in-memory SQLite database cannot be scanned from a second connection');
    const reader = new Database(this.db.name, { readonly: true, fileMustExist: true });
    try {
      reader.pragma('busy_timeout = 5000');
      reader.exec('BEGIN');
      const columns = discover(reader);
      if (!columns.some((c) => c.kind === 'ids')) {
        throw new PermanentError('No column holding blob ids (…blob_id) in the SQLite schema: refusing to collect garbage on an unknown schema');
      }
      let batch: string[] = [];
      for (const { table, column, kind } of columns) {
        const statement = reader.prepare(`SELECT ${quote(column)} FROM ${quote(table)} WHERE ${quote(column)} IS NOT NULL`).pluck();
        for (const value of statement.iterate()) {
          if (kind === 'ids') collectColumnValue(value, batch);
          else collectJsonTextBlobIds(value, batch, `${table}.${column}`);
          if (batch.length >= BATCH_SIZE) {
            signal?.throwIfAborted();
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
  }
}

function discover(db: Database.Database): ReferenceColumn[] {
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  const out: ReferenceColumn[] = [];
  for (const table of tables) {
    const columns = (db.prepare(`PRAGMA table_info(${quote(table)})`).all() as Array<{ name: string }>).map((c) => c.name);
    for (const column of columns) {
      if (JSON_DOCUMENT_COLUMNS.some((d) => d.table === table && d.column === column)) out.push({ table, column, kind: 'json' });
      else if (BLOB_ID_COLUMN.test(column)) out.push({ table, column, kind: 'ids' });
    }
  }
  return out;
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
