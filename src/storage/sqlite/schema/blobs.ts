import type { SqliteSchemaArea } from '../schema';

/**
 * Small blobs stored in the database (SqliteInlineBlobStore): the blob id (`address`), the bytes as
 * stored (ciphertext when encryption is on), their size, and their write time in epoch
 * milliseconds. Larger blobs stay files. The bytes come last in the row, so a `stat` or a listing
 * reads no overflow page. The id column is not named `…blob_id`: garbage collection reads every
 * such column as a reference, and the store's own rows are not references.
 */
export const BLOBS_SCHEMA: SqliteSchemaArea = {
  name: 'blobs',
  migrations: [
    `
  CREATE TABLE inline_blobs (
    bucket TEXT NOT NULL,
    address TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    bytes BLOB NOT NULL
  );
  CREATE UNIQUE INDEX inline_blobs_by_id ON inline_blobs (bucket, address);
    `,
  ],
};
