import type { BlobReferenceSource } from '../../blob/api/blob-references';
import { BLOB_ID_COLUMN, collectColumnValue, collectJsonTextBlobIds } from '../../blob/gc/blob-id-columns';
import { PermanentError } from '../../core/errors';
import type { CassandraSession } from './cassandra-session';

/** Rows per page of a table scan, and ids per batch handed to the collector. */
const PAGE_SIZE = 1_000;

/** Columns holding whole JSON documents with blob references inside (a mail repository's mails). */
const JSON_DOCUMENT_COLUMNS: ReadonlyArray<{ table: string; column: string }> = [{ table: 'mail_repository_mail', column: 'mail' }];

/** CQL types a column of blob ids may have: text, or a collection of text. */
const TEXTUAL = /^(frozen<)?((set|list)<)?(text|ascii|varchar)>?>?$/;

export interface CassandraReferenceColumn {
  table: string;
  column: string;
  kind: 'ids' | 'json';
}

/**
 * The blob ids referenced by the distributed profile's keyspace: every `…blob_id(s)` column of
 * every table (found in `system_schema.columns`, so columns the mailbox schema adds are read too)
 * and the mails of the mail repositories. Full-table scans, page by page, read-only, at the
 * session's LOCAL_QUORUM: every write acknowledged before a row is read is seen.
 */
export class CassandraBlobReferences implements BlobReferenceSource {
  readonly name = 'cassandra';
  readonly kind = 'stored';

  constructor(private readonly session: CassandraSession) {}

  async columns(): Promise<CassandraReferenceColumn[]> {
    const result = await this.session.execute('SELECT table_name, column_name, type FROM system_schema.columns WHERE keyspace_name = ?', [this.session.keyspace]);
    const out: CassandraReferenceColumn[] = [];
    for (const row of result.rows) {
      const table = row.get('table_name') as string;
      const column = row.get('column_name') as string;
      const type = (row.get('type') as string).replace(/\s/g, '');
      if (JSON_DOCUMENT_COLUMNS.some((d) => d.table === table && d.column === column)) out.push({ table, column, kind: 'json' });
      else if (BLOB_ID_COLUMN.test(column) && TEXTUAL.test(type)) out.push({ table, column, kind: 'ids' });
    }
    return out.sort((a, b) => (a.table + '.' + a.column).localeCompare(b.table + '.' + b.column));
  }

  async *references(signal?: AbortSignal): AsyncIterable<string[]> {
    const columns = await this.columns();
    if (!columns.some((c) => c.kind === 'ids')) {
      throw new PermanentError(`No column holding blob ids (…blob_id) in keyspace ${this.session.keyspace}: refusing to collect garbage on an unknown schema`);
    }
    let batch: string[] = [];
    for (const { table, column, kind } of columns) {
      const query = `SELECT "${column}" FROM ${this.session.keyspace}."${table}"`;
      for await (const row of this.session.rows(query, [], PAGE_SIZE)) {
        const value = row.get(column) as unknown;
        if (value === null || value === undefined) continue;
        if (kind === 'ids') collectColumnValue(value, batch);
        else collectJsonTextBlobIds(value, batch, `${table}.${column}`);
        if (batch.length >= PAGE_SIZE) {
          signal?.throwIfAborted();
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }
}
