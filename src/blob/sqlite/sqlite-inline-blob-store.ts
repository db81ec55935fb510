import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import { GroupCommit } from '../../storage/sqlite/group-commit';
import type { BlobId, BlobInfo, BlobStorage, ListOptions, PutOptions, StagedBlob, StoredBlob } from '../api';
import { assertBlobId, assertBucket, isBlobId, isBucket } from '../api/names';
import { pagesOf, pageSizeOf } from '../paging';
import { putThroughStage } from '../staging';
import { INLINE_BLOB_MAX_BYTES, MAX_INLINE_BLOB_BYTES } from './inline-limits';

export { INLINE_BLOB_MAX_BYTES };

interface InlineRow {
  address: string;
  size: number;
  modified_at: number;
}

/**
 * The embedded profile's blob storage: a blob of at most `inlineMaxBytes` is a row of
 * `inline_blobs`, committed with the group commit of the database (its transaction also holds
 * other writes of the same event-loop turn: mailbox appends, index rows), so storing a received
 * mail costs no file of its own — no create, fsync, rename and directory fsync per blob. A larger
 * blob is buffered up to the limit, then streamed into the file store. Reads look in the table
 * first, then in the files (blobs written before this store existed stay files); a listing merges
 * both in id order.
 *
 * Deduplication: storing an existing small blob again moves its write time forward, as for files.
 */
export class SqliteInlineBlobStore implements BlobStorage {
  private readonly writes: GroupCommit;
  private readonly upsert: Database.Statement;
  private readonly bytesOf: Database.Statement;
  private readonly rowOf: Database.Statement;
  private readonly deleteRow: Database.Statement;
  private readonly deleteRowIfOlder: Database.Statement;
  private readonly pageOf: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly files: BlobStorage,
    readonly inlineMaxBytes: number = INLINE_BLOB_MAX_BYTES,
  ) {
    if (!Number.isInteger(inlineMaxBytes) || inlineMaxBytes < 0 || inlineMaxBytes > MAX_INLINE_BLOB_BYTES) throw new RangeError(`inlineMaxBytes must be a whole number of bytes from 0 to ${MAX_INLINE_BLOB_BYTES} (got ${inlineMaxBytes})`);
    this.writes = new GroupCommit(db);
    this.upsert = db.prepare(
      `INSERT INTO inline_blobs (bucket, address, size, modified_at, bytes) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (bucket, address) DO UPDATE SET modified_at = max(modified_at, excluded.modified_at)`,
    );
    this.bytesOf = db.prepare('SELECT bytes FROM inline_blobs WHERE bucket = ? AND address = ?').pluck();
    this.rowOf = db.prepare('SELECT address, size, modified_at FROM inline_blobs WHERE bucket = ? AND address = ?');
    this.deleteRow = db.prepare('DELETE FROM inline_blobs WHERE bucket = ? AND address = ?');
    this.deleteRowIfOlder = db.prepare('DELETE FROM inline_blobs WHERE bucket = ? AND address = ? AND modified_at < ?');
    this.pageOf = db.prepare('SELECT address, size, modified_at FROM inline_blobs WHERE bucket = ? AND address > ? ORDER BY address LIMIT ?');
  }

  async put(bucket: string, data: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    return putThroughStage(await this.stage(bucket), data, createHash('sha256'), options);
  }

  /**
   * Bytes are kept in memory up to the limit; the write that crosses it opens a file staging and
   * hands it what was kept, and the rest streams there. Committing a blob that stayed small inserts
   * its row in the next group commit and resolves once that commit is durable. With a limit of 0
   * every blob, the empty one included, is a file.
   */
  async stage(bucket: string): Promise<StagedBlob> {
    assertBucket(bucket);
    if (this.inlineMaxBytes === 0) return this.files.stage(bucket);
    let kept: Buffer[] = [];
    let keptBytes = 0;
    let file: StagedBlob | null = null;
    let ended = false;
    return {
      write: async (bytes) => {
        if (ended) throw new Error('staged blob already committed or aborted');
        if (file) return file.write(bytes);
        // A copy: the caller may reuse its buffer once the write resolved (a file staging wrote it already).
        kept.push(Buffer.from(bytes));
        keptBytes += bytes.length;
        if (keptBytes <= this.inlineMaxBytes) return;
        file = await this.files.stage(bucket);
        const spilled = kept;
        kept = [];
        for (const chunk of spilled) await file.write(chunk);
      },
      commit: async (blobId) => {
        if (ended) throw new Error('staged blob already committed or aborted');
        ended = true;
        if (file) return file.commit(blobId);
        assertBlobId(blobId);
        const bytes = Buffer.concat(kept, keptBytes);
        kept = [];
        await this.writes.run(() => this.upsert.run(bucket, blobId, bytes.length, Date.now(), bytes));
      },
      abort: async () => {
        ended = true;
        kept = [];
        if (file) await file.abort();
      },
    };
  }

  async read(bucket: string, blobId: BlobId): Promise<Readable> {
    const inline = this.inlineBytes(bucket, blobId);
    return inline ? Readable.from([inline], { objectMode: false }) : this.files.read(bucket, blobId);
  }

  async readBytes(bucket: string, blobId: BlobId): Promise<Buffer> {
    return this.inlineBytes(bucket, blobId) ?? this.files.readBytes(bucket, blobId);
  }

  async exists(bucket: string, blobId: BlobId): Promise<boolean> {
    // An invalid bucket or id names no blob; a failing database is an error, not "absent".
    if (!isBucket(bucket) || !isBlobId(blobId)) return false;
    return this.inlineRow(bucket, blobId) !== undefined || this.files.exists(bucket, blobId);
  }

  async stat(bucket: string, blobId: BlobId): Promise<BlobInfo | null> {
    const row = this.inlineRow(bucket, blobId);
    return row ? infoOf(row) : this.files.stat(bucket, blobId);
  }

  async delete(bucket: string, blobId: BlobId): Promise<void> {
    assertBucket(bucket);
    assertBlobId(blobId);
    await this.writes.run(() => this.deleteRow.run(bucket, blobId));
    await this.files.delete(bucket, blobId);
  }

  /**
   * The row is deleted by one statement that checks its write time, so a put of the same content
   * racing the decision keeps it. A file copy of the same blob (written before it was inlined) is
   * decided by the file store, under the same cut-off: the blob is gone (true) only when no copy
   * is left.
   */
  async deleteIfUnmodifiedSince(bucket: string, blobId: BlobId, cutoff: Date): Promise<boolean> {
    const row = this.inlineRow(bucket, blobId);
    if (!row) return this.files.deleteIfUnmodifiedSince(bucket, blobId, cutoff);
    if (row.modified_at >= cutoff.getTime()) return false;
    const deleted = await this.writes.run(() => this.deleteRowIfOlder.run(bucket, blobId, cutoff.getTime()).changes > 0);
    if (!deleted) return false;
    if (!(await this.files.exists(bucket, blobId))) return true;
    return this.files.deleteIfUnmodifiedSince(bucket, blobId, cutoff);
  }

  async *list(bucket: string, options: ListOptions = {}): AsyncIterable<BlobInfo[]> {
    assertBucket(bucket);
    const { after } = options;
    if (after !== undefined) assertBlobId(after);
    const pageSize = pageSizeOf(options);
    yield* pagesOf(mergeById(this.inlineEntries(bucket, after, pageSize), entriesOf(this.files.list(bucket, options))), pageSize);
  }

  private async *inlineEntries(bucket: string, after: BlobId | undefined, pageSize: number): AsyncGenerator<BlobInfo> {
    let cursor = after ?? '';
    for (;;) {
      const rows = this.pageOf.all(bucket, cursor, pageSize) as InlineRow[];
      for (const row of rows) yield infoOf(row);
      if (rows.length < pageSize) return;
      cursor = rows[rows.length - 1].address;
    }
  }

  private inlineRow(bucket: string, blobId: BlobId): InlineRow | undefined {
    assertBucket(bucket);
    assertBlobId(blobId);
    return this.rowOf.get(bucket, blobId) as InlineRow | undefined;
  }

  private inlineBytes(bucket: string, blobId: BlobId): Buffer | undefined {
    assertBucket(bucket);
    assertBlobId(blobId);
    return this.bytesOf.get(bucket, blobId) as Buffer | undefined;
  }
}

function infoOf(row: InlineRow): BlobInfo {
  return { blobId: row.address, size: row.size, lastModified: new Date(row.modified_at) };
}

async function* entriesOf(pages: AsyncIterable<BlobInfo[]>): AsyncGenerator<BlobInfo> {
  for await (const page of pages) yield* page;
}

/**
 * Two listings in ascending id order, merged into one; an id in both (a blob that is a row and a
 * file) is listed once, with the later write time.
 */
async function* mergeById(left: AsyncIterator<BlobInfo>, right: AsyncIterator<BlobInfo>): AsyncGenerator<BlobInfo> {
  try {
    yield* mergeOrdered(left, right);
  } finally {
    // A consumer that stops early (a page is enough) closes both listings.
    await Promise.all([left.return?.(), right.return?.()]);
  }
}

async function* mergeOrdered(left: AsyncIterator<BlobInfo>, right: AsyncIterator<BlobInfo>): AsyncGenerator<BlobInfo> {
  let a = await left.next();
  let b = await right.next();
  while (!a.done || !b.done) {
    if (b.done || (!a.done && a.value.blobId < b.value.blobId)) {
      yield a.value;
      a = await left.next();
    } else if (a.done || b.value.blobId < a.value.blobId) {
      yield b.value;
      b = await right.next();
    } else {
      yield a.value.lastModified >= b.value.lastModified ? a.value : b.value;
      a = await left.next();
      b = await right.next();
    }
  }
}
