import { createHash, randomUUID } from 'node:crypto';
import { accessSync, closeSync, fstatSync, fsync as fsyncCallback, mkdirSync, openSync, promises as fs, readSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError } from '../../core/errors';
import {
  type BlobId,
  type BlobInfo,
  type BlobStorage,
  type ListOptions,
  type PutOptions,
  type StagedBlob,
  type StoredBlob,
} from '../api';
import { assertBlobId, assertBucket, isBlobId } from '../api/names';
import { pagesOf, pageSizeOf } from '../paging';
import { putThroughStage } from '../staging';

/** Files stat'ed at once while listing a directory. */
const LIST_STAT_CONCURRENCY = 64;
/**
 * `readBytes` reads a blob up to this size with blocking calls on the event loop; larger ones go
 * through the thread pool. A small read is four system calls (open, fstat, read, close) of a few
 * microseconds each when the file is in the page cache, against four thread-pool round trips of
 * the asynchronous API, which cost about 80 µs of main-thread time together (measured on IMAP
 * FETCH of 3.5 KB messages: 32 % of the process' CPU). A cold read blocks the loop for one disk
 * read, as every SQLite page read of the embedded profile already does.
 */
export const SYNC_READ_MAX_BYTES = 64 * 1024;

/**
 * Blobs as files: `<root>/<bucket>/<id[0..2]>/<id[2..4]>/<id>`. A put streams into a temporary
 * file while hashing, fsyncs it, then renames it to its content address: a crash never leaves a
 * partial blob under a real id. Storing existing content renames a new file over the old one, so
 * the file's mtime (the blob's `lastModified`) is the time of the latest put.
 */
export class FileBlobStore implements BlobStorage {
  private readonly tmpDir: string;
  private readonly trashDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = path.join(root, '.tmp');
    this.trashDir = path.join(root, '.trash');
  }

  async init(): Promise<this> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    await fs.mkdir(this.trashDir, { recursive: true });
    await this.restoreTrash();
    return this;
  }

  async put(bucket: string, data: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    assertBucket(bucket);
    return putThroughStage(await this.stage(bucket), data, createHash('sha256'), options);
  }

  /**
   * The staging file is opened, written, closed and renamed with blocking calls, as SQLite writes
   * its pages on this thread: they land in the page cache. Only the fsyncs, which wait for the
   * disk, go through the thread pool: 2 round trips per put instead of 8, each of which costs a
   * thread wake-up and a turn of the event loop (docs/performance.md, stop 20: with lazy stack
   * traces, +14 % mails/s over 5 alternated rounds, every round ahead).
   */
  async stage(bucket: string): Promise<StagedBlob> {
    assertBucket(bucket);
    const tmpPath = path.join(this.tmpDir, randomUUID());
    let fd: number | null = openSync(tmpPath, 'w');
    const close = (): void => {
      const open = fd;
      fd = null;
      if (open !== null) closeSync(open);
    };
    const discard = (): void => {
      try {
        close();
      } finally {
        rmSync(tmpPath, { force: true });
      }
    };
    return {
      write: async (bytes) => {
        if (fd === null) throw new Error('staged blob already committed or aborted');
        for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      },
      commit: async (blobId) => {
        const finalPath = this.pathOf(bucket, blobId);
        if (fd === null) throw new Error('staged blob already committed or aborted');
        try {
          await fsync(fd);
          close();
          const createdIn = renameCreatingDirectory(tmpPath, finalPath);
          await syncDirectory(path.dirname(finalPath));
          for (const dir of createdIn) await syncDirectory(dir);
        } catch (err) {
          try {
            discard();
          } catch {
            // The commit's own error is the one to report.
          }
          throw err;
        }
      },
      abort: async () => discard(),
    };
  }

  /**
   * A blob up to SYNC_READ_MAX_BYTES is read at once, blocking, as `readBytes` does; a larger one
   * is streamed. Measured on 4 KB blobs (2,000 of them): an `exists` and a read cost 0.13 ms of CPU
   * this way against 0.7-1.1 ms through the thread pool and a file stream.
   */
  async read(bucket: string, blobId: BlobId): Promise<Readable> {
    const file = this.pathOf(bucket, blobId);
    try {
      const small = readSmallFileSync(file);
      if (small) return Readable.from([small], { objectMode: false });
      const handle = await fs.open(file, 'r');
      return handle.createReadStream();
    } catch (err) {
      throw notFound(err, bucket, blobId);
    }
  }

  async readBytes(bucket: string, blobId: BlobId): Promise<Buffer> {
    const file = this.pathOf(bucket, blobId);
    try {
      return readSmallFileSync(file) ?? (await fs.readFile(file));
    } catch (err) {
      throw notFound(err, bucket, blobId);
    }
  }

  /** A blocking `access` (see `read`): local delivery asks once per recipient. */
  async exists(bucket: string, blobId: BlobId): Promise<boolean> {
    try {
      accessSync(this.pathOf(bucket, blobId));
      return true;
    } catch {
      return false;
    }
  }

  async stat(bucket: string, blobId: BlobId): Promise<BlobInfo | null> {
    const stats = await statOrNull(this.pathOf(bucket, blobId));
    return stats && { blobId, size: stats.size, lastModified: new Date(stats.mtimeMs) };
  }

  async delete(bucket: string, blobId: BlobId): Promise<void> {
    await fs.rm(this.pathOf(bucket, blobId), { force: true });
  }

  /**
   * Atomic against a concurrent put: the file is first renamed into `.trash` (a put after that
   * creates a new file under the id), then the write time of the file actually removed is checked;
   * when a put refreshed it just before the rename, it is linked back.
   */
  async deleteIfUnmodifiedSince(bucket: string, blobId: BlobId, cutoff: Date): Promise<boolean> {
    const file = this.pathOf(bucket, blobId);
    const before = await statOrNull(file);
    // File times come from the kernel's coarse clock (one tick, up to 10 ms, behind Date.now()): a
    // put just after the cut-off can carry an mtime just before it.
    const since = cutoff.getTime() - MTIME_SLACK_MS;
    if (!before || before.mtimeMs >= since) return false;
    const trashed = path.join(this.trashDir, `${bucket}.${blobId}.${randomUUID()}`);
    try {
      await fs.rename(file, trashed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const removed = await fs.stat(trashed);
    if (removed.mtimeMs >= since) {
      await this.restore(trashed, file);
      return false;
    }
    await fs.rm(trashed, { force: true });
    return true;
  }

  async *list(bucket: string, options: ListOptions = {}): AsyncIterable<BlobInfo[]> {
    assertBucket(bucket);
    const { after } = options;
    if (after !== undefined) assertBlobId(after);
    yield* pagesOf(this.entries(bucket, after), pageSizeOf(options));
  }

  /** The bucket's blobs in ascending id order, after `after`, read directory by directory. */
  private async *entries(bucket: string, after: BlobId | undefined): AsyncGenerator<BlobInfo> {
    const bucketDir = path.join(this.root, bucket);
    for (const first of await sortedEntries(bucketDir, /^[0-9a-f]{2}$/)) {
      if (after && first < after.slice(0, 2)) continue;
      for (const second of await sortedEntries(path.join(bucketDir, first), /^[0-9a-f]{2}$/)) {
        const prefix = first + second;
        if (after && prefix < after.slice(0, 4)) continue;
        const dir = path.join(bucketDir, first, second);
        const names = (await sortedEntries(dir, /^[0-9a-f]{64}$/)).filter((name) => name.startsWith(prefix) && (!after || name > after));
        for (let i = 0; i < names.length; i += LIST_STAT_CONCURRENCY) {
          const batch = names.slice(i, i + LIST_STAT_CONCURRENCY);
          const stats = await Promise.all(batch.map((name) => statOrNull(path.join(dir, name))));
          for (let j = 0; j < batch.length; j++) {
            const info = stats[j];
            // Deleted between readdir and stat: not part of the listing.
            if (info) yield { blobId: batch[j], size: info.size, lastModified: new Date(info.mtimeMs) };
          }
        }
      }
    }
  }

  private pathOf(bucket: string, blobId: BlobId): string {
    assertBucket(bucket);
    assertBlobId(blobId);
    return path.join(this.root, bucket, blobId.slice(0, 2), blobId.slice(2, 4), blobId);
  }

  private async restore(trashed: string, file: string): Promise<void> {
    try {
      await fs.link(trashed, file);
    } catch (err) {
      // A put stored the content again meanwhile: that copy wins.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await fs.rm(trashed, { force: true });
  }

  /** A crash between the rename into `.trash` and its decision: put every such file back (the next GC decides again). */
  private async restoreTrash(): Promise<void> {
    for (const name of await fs.readdir(this.trashDir)) {
      const [bucket, blobId] = name.split('.');
      if (!bucket || !isBlobId(blobId)) continue;
      const file = this.pathOf(bucket, blobId);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await this.restore(path.join(this.trashDir, name), file);
    }
  }
}

/**
 * Most puts land in an existing fan-out directory: it is created only when the rename says it is
 * missing. A directory created here must be made durable too (its entry in its parent fsynced, and
 * the parent's in the bucket directory): otherwise a power loss could drop the new directory with
 * the blob in it, after the put was acknowledged. Returns the directories whose entries changed
 * besides the blob's own (none in the common case), for the caller to fsync.
 */
function renameCreatingDirectory(from: string, to: string): string[] {
  try {
    renameSync(from, to);
    return [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const leaf = path.dirname(to);
  // The first directory mkdir created (the bucket's on the very first put); none when a concurrent put created them.
  const created = mkdirSync(leaf, { recursive: true }) ?? path.dirname(leaf);
  renameSync(from, to);
  const parents: string[] = [];
  for (let dir = leaf; ; dir = path.dirname(dir)) {
    parents.push(path.dirname(dir));
    if (dir === created || dir.length <= created.length) break;
  }
  return parents;
}

/** fsync on the thread pool (it waits for the disk). */
function fsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsyncCallback(fd, (err) => (err ? reject(err) : resolve())));
}

/** The whole file when it holds at most SYNC_READ_MAX_BYTES; null when it is larger. */
function readSmallFileSync(file: string): Buffer | null {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > SYNC_READ_MAX_BYTES) return null;
    // One byte more than the size: a file that grew since fstat is read up to the limit, then refused below.
    const buffer = Buffer.allocUnsafe(size + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length === buffer.length) return null;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

async function sortedEntries(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((name) => pattern.test(name)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * A blob whose mtime is this close before a GC cut-off counts as modified after it: the kernel
 * stamps files with a clock that lags Date.now() by up to one tick. Deleting later is harmless;
 * deleting a blob just stored again would lose it.
 */
export const MTIME_SLACK_MS = 100;

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function notFound(err: unknown, bucket: string, blobId: string): unknown {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new NotFoundError(`Blob ${bucket}/${blobId} not found`);
  return err;
}

async function syncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    closeSync(fd);
  }
}
