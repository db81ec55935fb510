import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BlobTooLargeError, MAIL_BUCKET, type BlobInfo } from '../../src/blob/api';
import { BlobKey } from '../../src/blob/encryption/blob-cipher';
import { EncryptingBlobStore } from '../../src/blob/encryption/encrypting-blob-store';
import { FileBlobStore } from '../../src/blob/file/file-blob-store';
import { INLINE_BLOB_MAX_BYTES, SqliteInlineBlobStore } from '../../src/blob/sqlite/sqlite-inline-blob-store';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteBlobReferences } from '../../src/storage/sqlite/sqlite-blob-references';
import { describeBlobStoreContract } from '../contracts/blob-store.contract';

interface Fixture {
  dir: string;
  db: Database.Database;
  files: FileBlobStore;
  store: SqliteInlineBlobStore;
  cleanup(): Promise<void>;
}

async function fixture(inlineMaxBytes?: number): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-inline-blobs-'));
  const db = new Database(path.join(dir, 'postflow.db'));
  migrate(db);
  const files = await new FileBlobStore(path.join(dir, 'blobs')).init();
  return {
    dir,
    db,
    files,
    store: new SqliteInlineBlobStore(db, files, inlineMaxBytes),
    async cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeBlobStoreContract('SQLite rows for small blobs, files for large ones', async () => fixture());

describeBlobStoreContract('SQLite rows and files, encrypted (AES-256-GCM)', async () => {
  const f = await fixture();
  const key = randomBytes(32);
  return {
    store: new EncryptingBlobStore(f.store, new BlobKey(key)),
    blobIdOf: (bytes) => createHmac('sha256', Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'postflow/blob/v1/address', 32))).update(bytes).digest('hex'),
    cleanup: f.cleanup,
  };
});

describe('SqliteInlineBlobStore', () => {
  let f: Fixture;
  afterEach(async () => f?.cleanup());

  const rowCount = (): number => f.db.prepare('SELECT count(*) FROM inline_blobs').pluck().get() as number;
  const fileOf = (blobId: string): string => path.join(f.dir, 'blobs', MAIL_BUCKET, blobId.slice(0, 2), blobId.slice(2, 4), blobId);
  const listAll = async (pageSize?: number): Promise<BlobInfo[][]> => {
    const pages: BlobInfo[][] = [];
    for await (const page of f.store.list(MAIL_BUCKET, { pageSize })) pages.push(page);
    return pages;
  };

  it('keeps a blob of up to inlineMaxBytes (64 KiB by default) as a row, and a larger one as a file', async () => {
    f = await fixture();
    expect(f.store.inlineMaxBytes).toBe(INLINE_BLOB_MAX_BYTES);
    expect(INLINE_BLOB_MAX_BYTES).toBe(64 * 1024);
    const small = await f.store.put(MAIL_BUCKET, randomBytes(INLINE_BLOB_MAX_BYTES));
    expect(rowCount()).toBe(1);
    expect(existsSync(fileOf(small.blobId))).toBe(false);
    const large = await f.store.put(MAIL_BUCKET, randomBytes(INLINE_BLOB_MAX_BYTES + 1));
    expect(rowCount()).toBe(1);
    expect(existsSync(fileOf(large.blobId))).toBe(true);
    expect(await f.store.stat(MAIL_BUCKET, large.blobId)).toMatchObject({ size: INLINE_BLOB_MAX_BYTES + 1 });
  });

  it('with inlineMaxBytes 0 stores every blob as a file, the empty one included', async () => {
    f = await fixture(0);
    const { blobId } = await f.store.put(MAIL_BUCKET, Buffer.from('x'));
    const empty = await f.store.put(MAIL_BUCKET, Buffer.alloc(0));
    expect(rowCount()).toBe(0);
    expect(existsSync(fileOf(blobId))).toBe(true);
    expect(existsSync(fileOf(empty.blobId))).toBe(true);
  });

  it('exists: an invalid bucket or id names no blob, but a failing database is an error, not "absent"', async () => {
    f = await fixture();
    const { blobId } = await f.store.put(MAIL_BUCKET, Buffer.from('present'));
    expect(await f.store.exists(MAIL_BUCKET, '../etc/passwd')).toBe(false);
    expect(await f.store.exists('Bad Bucket', blobId)).toBe(false);
    f.db.exec('DROP TABLE inline_blobs');
    const failure = await f.store.exists(MAIL_BUCKET, blobId).then(() => null, (err: unknown) => err);
    expect(String(failure)).toMatch(/inline_blobs|statement|database/i);
  });

  it('garbage collection of a blob whose row is old but whose file copy is newer reports it kept, and keeps the file', async () => {
    f = await fixture();
    const bytes = Buffer.from('a row first, a file copy later (the limit lowered meanwhile)');
    const asRow = await f.store.put(MAIL_BUCKET, bytes);
    const cutoff = new Date(Date.now() + 5);
    await new Promise((r) => setTimeout(r, 20));
    await f.files.put(MAIL_BUCKET, bytes);
    expect(await f.store.deleteIfUnmodifiedSince(MAIL_BUCKET, asRow.blobId, cutoff)).toBe(false);
    expect(rowCount()).toBe(0);
    expect(existsSync(fileOf(asRow.blobId))).toBe(true);
    expect(await f.store.readBytes(MAIL_BUCKET, asRow.blobId)).toEqual(bytes);
  });

  it('refuses an inlineMaxBytes that is not a whole number of bytes', async () => {
    f = await fixture();
    expect(() => new SqliteInlineBlobStore(f.db, f.files, -1)).toThrow(/inlineMaxBytes/);
    expect(() => new SqliteInlineBlobStore(f.db, f.files, 1.5)).toThrow(/inlineMaxBytes/);
    expect(() => new SqliteInlineBlobStore(f.db, f.files, 2 * 1024 * 1024)).toThrow(/inlineMaxBytes/);
  });

  it('an acknowledged small blob is in the database file: a new connection reads it', async () => {
    f = await fixture();
    const bytes = Buffer.from('Subject: durable\r\n\r\nbody\r\n');
    const { blobId } = await f.store.put(MAIL_BUCKET, bytes);
    const other = new Database(path.join(f.dir, 'postflow.db'), { readonly: true });
    try {
      expect(other.prepare('SELECT bytes FROM inline_blobs WHERE bucket = ? AND address = ?').pluck().get(MAIL_BUCKET, blobId)).toEqual(bytes);
    } finally {
      other.close();
    }
  });

  it('a put whose insert fails rejects with the error and stores nothing, and the other puts of its group commit succeed', async () => {
    f = await fixture();
    f.db.exec(`CREATE TRIGGER refuse_13 BEFORE INSERT ON inline_blobs WHEN NEW.size = 13 BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END`);
    const results = await Promise.allSettled([f.store.put(MAIL_BUCKET, Buffer.from('twelve bytes')), f.store.put(MAIL_BUCKET, Buffer.from('thirteen byte')), f.store.put(MAIL_BUCKET, Buffer.from('fourteen bytes'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/simulated disk failure/);
    expect(rowCount()).toBe(2);
    expect((await listAll()).flat().map((b) => b.size).sort()).toEqual([12, 14]);
  });

  it('a blob refused over maxBytes after spilling to a file leaves no row and no staging file', async () => {
    f = await fixture(1024);
    await expect(f.store.put(MAIL_BUCKET, randomBytes(5000), { maxBytes: 4000 })).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(rowCount()).toBe(0);
    expect(readdirSync(path.join(f.dir, 'blobs', '.tmp'))).toEqual([]);
    expect(await listAll()).toEqual([]);
  });

  it('reads, lists and deletes blobs written as files before the store existed, merged in id order with the rows', async () => {
    f = await fixture();
    const old = await Promise.all(Array.from({ length: 4 }, (_, i) => f.files.put(MAIL_BUCKET, Buffer.from(`old file blob ${i}`))));
    const fresh = await Promise.all(Array.from({ length: 4 }, (_, i) => f.store.put(MAIL_BUCKET, Buffer.from(`new row blob ${i}`))));
    expect(rowCount()).toBe(4);
    expect(await f.store.readBytes(MAIL_BUCKET, old[0].blobId)).toEqual(Buffer.from('old file blob 0'));
    expect(await f.store.exists(MAIL_BUCKET, old[1].blobId)).toBe(true);
    const pages = await listAll(3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
    expect(pages.flat().map((b) => b.blobId)).toEqual([...old, ...fresh].map((b) => b.blobId).sort());
    await f.store.delete(MAIL_BUCKET, old[2].blobId);
    await f.store.delete(MAIL_BUCKET, fresh[2].blobId);
    expect((await listAll()).flat()).toHaveLength(6);
    expect(existsSync(fileOf(old[2].blobId))).toBe(false);
  });

  it('lists a blob that is both a file and a row once, and garbage collection removes both copies', async () => {
    f = await fixture();
    const bytes = Buffer.from('the same content, stored before and after the upgrade');
    const asFile = await f.files.put(MAIL_BUCKET, bytes);
    await new Promise((r) => setTimeout(r, 20));
    const asRow = await f.store.put(MAIL_BUCKET, bytes);
    expect(asRow.blobId).toBe(asFile.blobId);
    const listed = (await listAll()).flat();
    expect(listed).toHaveLength(1);
    const rowTime = f.db.prepare('SELECT modified_at FROM inline_blobs').pluck().get() as number;
    expect(listed[0].lastModified.getTime()).toBe(rowTime);
    // Too young for a cut-off before the row's write: both kept.
    expect(await f.store.deleteIfUnmodifiedSince(MAIL_BUCKET, asRow.blobId, new Date(rowTime))).toBe(false);
    expect(await f.store.exists(MAIL_BUCKET, asRow.blobId)).toBe(true);
    expect(await f.store.deleteIfUnmodifiedSince(MAIL_BUCKET, asRow.blobId, new Date(Date.now() + 1_000))).toBe(true);
    expect(await f.store.exists(MAIL_BUCKET, asRow.blobId)).toBe(false);
    expect(existsSync(fileOf(asRow.blobId))).toBe(false);
  });

  it('keeps the bytes a writer handed over even when it reuses its buffer afterwards', async () => {
    f = await fixture();
    const staged = await f.store.stage(MAIL_BUCKET);
    const buffer = Buffer.from('first chunk|');
    await staged.write(buffer);
    buffer.fill(0x21);
    await staged.write(Buffer.from('second chunk'));
    const id = 'a'.repeat(64);
    await staged.commit(id);
    expect((await f.store.readBytes(MAIL_BUCKET, id)).toString()).toBe('first chunk|second chunk');
    await expect(staged.write(Buffer.from('late'))).rejects.toThrow(/already committed/);
  });

  it('its rows are not blob references: garbage collection still sees a stored small blob as unreferenced', async () => {
    f = await fixture();
    const { blobId } = await f.store.put(MAIL_BUCKET, Buffer.from('an orphan kept as a row'));
    const found: string[] = [];
    for await (const batch of new SqliteBlobReferences(f.db).references(new AbortController().signal)) found.push(...batch);
    expect(found).not.toContain(blobId);
  });
});
