import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { PostflowConfig } from '../../config/schema';
import { NotFoundError } from '../../core/errors';
import { BlobTooLargeError, type BlobId, type BlobStore, type PutOptions, type StoredBlob } from '../api';
import { assertBlobId, assertBucket } from '../api/names';

export type S3Config = PostflowConfig['s3'];

/** A TCP connection to the S3 endpoint not open within this time fails the request. */
export const S3_CONNECTION_TIMEOUT_MS = 5_000;
/** A request whose socket stays idle this long fails (large bodies stream well within it). */
export const S3_SOCKET_TIMEOUT_MS = 60_000;

/**
 * Blobs as S3 objects: bucket `<bucketPrefix><bucket>`, key = the SHA-256 hex of the bytes.
 * A put spools the stream into a temporary file while hashing (the key is only known at the end,
 * and S3 needs the length up front), then uploads that file unless an object with that key
 * exists already: writing the same bytes twice stores them once.
 */
export class S3BlobStore implements BlobStore {
  private readonly buckets = new Map<string, Promise<void>>();

  constructor(
    readonly client: S3Client,
    private readonly bucketPrefix: string,
    private readonly tmpDir: string = os.tmpdir(),
  ) {}

  static fromConfig(config: S3Config, options: { tmpDir?: string } = {}): S3BlobStore {
    return new S3BlobStore(createS3Client(config), config.bucketPrefix, options.tmpDir);
  }

  async put(bucket: string, data: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    assertBucket(bucket);
    const source = Buffer.isBuffer(data) ? Readable.from([data]) : data;
    const tmpPath = path.join(this.tmpDir, `postflow-blob-${randomUUID()}`);
    try {
      const { blobId, size, md5 } = await spool(source, tmpPath, options.maxBytes);
      const name = await this.ensureBucket(bucket);
      if (!(await this.headObject(name, blobId))) {
        await this.client.send(
          new PutObjectCommand({
            Bucket: name,
            Key: blobId,
            Body: createReadStream(tmpPath),
            ContentLength: size,
            // The server checks the bytes it received against our digest.
            ContentMD5: md5,
            ContentType: 'application/octet-stream',
          }),
        );
      }
      return { blobId, size };
    } finally {
      await fs.rm(tmpPath, { force: true });
    }
  }

  async read(bucket: string, blobId: BlobId): Promise<Readable> {
    const name = this.bucketName(bucket);
    assertBlobId(blobId);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: name, Key: blobId }));
      if (!(response.Body instanceof Readable)) throw new Error(`S3 returned no stream for ${name}/${blobId}`);
      return response.Body;
    } catch (err) {
      throw isNotFound(err) ? new NotFoundError(`Blob ${bucket}/${blobId} not found`) : err;
    }
  }

  async readBytes(bucket: string, blobId: BlobId): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.read(bucket, blobId)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** False for an id that is not a blob id (nothing can be stored under it), like the file store. */
  async exists(bucket: string, blobId: BlobId): Promise<boolean> {
    const name = this.bucketName(bucket);
    if (!isBlobId(blobId)) return false;
    return this.headObject(name, blobId);
  }

  async delete(bucket: string, blobId: BlobId): Promise<void> {
    const name = this.bucketName(bucket);
    assertBlobId(blobId);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: name, Key: blobId }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Lists buckets: a round trip that needs working credentials. Rejects when S3 does not answer. */
  async ping(abortSignal?: AbortSignal): Promise<void> {
    await this.client.send(new ListBucketsCommand({}), { abortSignal });
  }

  close(): void {
    this.client.destroy();
  }

  private bucketName(bucket: string): string {
    assertBucket(bucket);
    return `${this.bucketPrefix}${bucket}`;
  }

  /** Creates the bucket on first use by this node (once per bucket; retried after a failure). */
  private ensureBucket(bucket: string): Promise<string> {
    const name = this.bucketName(bucket);
    let ready = this.buckets.get(name);
    if (!ready) {
      ready = this.createBucket(name);
      this.buckets.set(name, ready);
      ready.catch(() => this.buckets.delete(name));
    }
    return ready.then(() => name);
  }

  private async createBucket(name: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: name }));
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: name }));
    } catch (err) {
      // Another node (or an earlier run) created it between our HEAD and our PUT.
      const code = (err as { name?: string }).name;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
    }
  }

  private async headObject(bucketName: string, key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucketName, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

/** The S3 client of a node. Path-style and checksums only when required: what S3Proxy and most clones accept. */
export function createS3Client(config: S3Config): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: S3_CONNECTION_TIMEOUT_MS, socketTimeout: S3_SOCKET_TIMEOUT_MS },
  });
}

/** Writes the stream to `tmpPath` while hashing; BlobTooLargeError (and no file) past `maxBytes`. */
async function spool(source: Readable, tmpPath: string, maxBytes: number | undefined): Promise<{ blobId: string; size: number; md5: string }> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  const handle = await fs.open(tmpPath, 'w');
  try {
    for await (const chunk of source) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += bytes.length;
      if (maxBytes !== undefined && size > maxBytes) {
        source.destroy();
        throw new BlobTooLargeError(maxBytes);
      }
      sha256.update(bytes);
      md5.update(bytes);
      await handle.write(bytes);
    }
  } finally {
    await handle.close();
  }
  return { blobId: sha256.digest('hex'), size, md5: md5.digest('base64') };
}

function isBlobId(blobId: string): boolean {
  try {
    assertBlobId(blobId);
    return true;
  } catch {
    return false;
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NoSuchKey' || e?.name === 'NoSuchBucket' || e?.name === 'NotFound';
}
