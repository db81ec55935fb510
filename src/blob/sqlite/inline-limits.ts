/**
 * Blobs up to this many stored bytes are rows of the SQLite database (embedded profile); larger
 * ones are files. SQLite measured blobs below about 100 KB read and written faster from the
 * database than from files (sqlite.org, "Internal Versus External BLOBs", 4 KB pages); 64 KiB is
 * also where the file store switches from blocking to pooled reads. Config `blobStore.inlineMaxBytes`.
 */
export const INLINE_BLOB_MAX_BYTES = 64 * 1024;
/** The largest `blobStore.inlineMaxBytes` accepted: a put keeps up to that much in memory before it spills to a file. */
export const MAX_INLINE_BLOB_BYTES = 1024 * 1024;
