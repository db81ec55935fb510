import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError } from '../../core/errors';
import { BlobTooLargeError, type BlobId, type BlobStore, type PutOptions, type StoredBlob } from '../api';
import { assertBlobId, assertBucket } from '../api/names';

/**
 * Blobs as files: `<root>/<bucket>/<id[0..2]>/<id[2..4]>/<id>`. A put streams into a temporary
 * file while hashing, fsyncs it, then renames it to its content address: a crash never leaves a
 * partial blob under a real id.
 */
export class FileBlobStore implements BlobStore {
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = path.join(root, '.tmp');
  }

  async init(): Promise<this> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    return this;
  }

  async put(bucket: string, data: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    assertBucket(bucket);
    const source = Buffer.isBuffer(data) ? Readable.from([data]) : data;
    const tmpPath = path.join(this.tmpDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const handle = await fs.open(tmpPath, 'w');
    try {
      for await (const chunk of source) {
        const bytes = chunk as Buffer;
        size += bytes.length;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          source.destroy();
          throw new BlobTooLargeError(options.maxBytes);
        }
        hash.update(bytes);
        await handle.write(bytes);
      }
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.rm(tmpPath, { force: true });
      throw err;
    }
    await handle.close();
    const blobId = hash.digest('hex');
    const finalPath = this.pathOf(bucket, blobId);
    await fs.mkdir(path.dirname(finalPath), { recursive: true });
    await fs.rename(tmpPath, finalPath);
    await syncDirectory(path.dirname(finalPath));
    return { blobId, size };
  }

  async read(bucket: string, blobId: BlobId): Promise<Readable> {
    const file = this.pathOf(bucket, blobId);
    try {
      const handle = await fs.open(file, 'r');
      return handle.createReadStream();
    } catch (err) {
      throw notFound(err, bucket, blobId);
    }
  }

  async readBytes(bucket: string, blobId: BlobId): Promise<Buffer> {
    try {
      return await fs.readFile(this.pathOf(bucket, blobId));
    } catch (err) {
      throw notFound(err, bucket, blobId);
    }
  }

  async exists(bucket: string, blobId: BlobId): Promise<boolean> {
    try {
      await fs.access(this.pathOf(bucket, blobId));
      return true;
    } catch {
      return false;
    }
  }

  async delete(bucket: string, blobId: BlobId): Promise<void> {
    await fs.rm(this.pathOf(bucket, blobId), { force: true });
  }

  private pathOf(bucket: string, blobId: BlobId): string {
    assertBucket(bucket);
    assertBlobId(blobId);
    return path.join(this.root, bucket, blobId.slice(0, 2), blobId.slice(2, 4), blobId);
  }
}

function notFound(err: unknown, bucket: string, blobId: string): unknown {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new NotFoundError(`Blob ${bucket}/${blobId} not found`);
  return err;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
