import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { PostflowConfig } from '../../config/schema';
import { NotFoundError } from '../../core/errors';
import type { BlobId, BlobInfo, BlobStorage, ListOptions, PutOptions, StagedBlob, StoredBlob } from '../api';
import { assertBlobId, assertBucket, isBlobId } from '../api/names';
import { pageSizeOf } from '../paging';
import { putThroughStage } from '../staging';

export type S3Config = PostflowConfig['s3'];

/** A TCP connection to the S3 endpoint not open within this time fails the request. */
export const S3_CONNECTION_TIMEOUT_MS = 5_000;
/** A request whose socket stays idle this long fails (large bodies stream well within it). */
export const S3_SOCKET_TIMEOUT_MS = 60_000;
/** S3's `Last-Modified` is an HTTP date: whole seconds. */
const LAST_MODIFIED_RESOLUTION_MS = 1_000;

/**
 * Blobs as S3 objects: bucket `<bucketPrefix><bucket>`, key = the SHA-256 hex of the bytes.
 * A put spools the stream into a temporary file while hashing (the key is only known at the end,
 * and S3 needs the length up front), then uploads that file unless an object with that key
 * exists already: writing the same bytes twice stores them once (and refreshes the object's
 * LastModified, the age garbage collection goes by).
 */
export class S3BlobStore implements BlobStorage {
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
    return putThroughStage(await this.stage(bucket), data, createHash('sha256'), options);
  }

  /**
   * Spools into a temporary file (S3 needs the length up front and the key is only known at the
   * end) while computing the MD5 the server checks, then uploads it unless the object exists.
   */
  async stage(bucket: string): Promise<StagedBlob> {
    assertBucket(bucket);
    const tmpPath = path.join(this.tmpDir, `postflow-blob-${randomUUID()}`);
    const md5 = createHash('md5');
    let size = 0;
    let handle: FileHandle | null = await fs.open(tmpPath, 'w');
    const release = async () => {
      const open = handle;
      handle = null;
      await open?.close().catch(() => undefined);
      await fs.rm(tmpPath, { force: true });
    };
    return {
      write: async (bytes) => {
        if (!handle) throw new Error('staged blob already committed or aborted');
        md5.update(bytes);
        size += bytes.length;
        let offset = 0;
        while (offset < bytes.length) offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
      },
      commit: async (blobId) => {
        assertBlobId(blobId);
        if (!handle) throw new Error('staged blob already committed or aborted');
        try {
          await handle.close();
          handle = null;
          const name = await this.ensureBucket(bucket);
          if (!(await this.headObject(name, blobId)) || !(await this.refresh(name, blobId))) {
            await this.client.send(
              new PutObjectCommand({
                Bucket: name,
                Key: blobId,
                Body: createReadStream(tmpPath),
                ContentLength: size,
                // The server checks the bytes it received against our digest.
                ContentMD5: md5.digest('base64'),
                ContentType: 'application/octet-stream',
              }),
            );
          }
        } finally {
          await release();
        }
      },
      abort: release,
    };
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

  async stat(bucket: string, blobId: BlobId): Promise<BlobInfo | null> {
    const name = this.bucketName(bucket);
    assertBlobId(blobId);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: name, Key: blobId }));
      return { blobId, size: head.ContentLength ?? 0, lastModified: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
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

  /**
   * S3 has no conditional delete on the write time: the check and the delete are two requests.
   * A put of the same content landing between them is the one race left (docs/blob-gc.md).
   */
  async deleteIfUnmodifiedSince(bucket: string, blobId: BlobId, cutoff: Date): Promise<boolean> {
    const info = await this.stat(bucket, blobId);
    // LastModified is truncated to whole seconds: a blob stored again (deduplicated) just after the
    // cut-off, within the same second, reads as older than it. Only a blob whose whole second
    // ended before the cut-off is old.
    if (!info || info.lastModified.getTime() + LAST_MODIFIED_RESOLUTION_MS > cutoff.getTime()) return false;
    await this.delete(bucket, blobId);
    return true;
  }

  async *list(bucket: string, options: ListOptions = {}): AsyncIterable<BlobInfo[]> {
    const name = this.bucketName(bucket);
    if (options.after !== undefined) assertBlobId(options.after);
    const pageSize = pageSizeOf(options);
    let continuationToken: string | undefined;
    for (;;) {
      let response;
      try {
        response = await this.client.send(
          new ListObjectsV2Command({
            Bucket: name,
            MaxKeys: pageSize,
            ...(continuationToken ? { ContinuationToken: continuationToken } : { StartAfter: options.after }),
          }),
        );
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      const page: BlobInfo[] = [];
      for (const entry of response.Contents ?? []) {
        // Objects that are not blobs (put there by hand) are not ours to list or collect.
        if (!isBlobId(entry.Key)) continue;
        page.push({ blobId: entry.Key, size: entry.Size ?? 0, lastModified: entry.LastModified ?? new Date(0) });
      }
      if (page.length > 0) yield page;
      if (!response.IsTruncated || !response.NextContinuationToken) return;
      continuationToken = response.NextContinuationToken;
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

  /**
   * Moves an existing object's LastModified to now (a server-side copy onto itself with new
   * metadata; no bytes travel): a deduplicated put must look as young as a new one to garbage
   * collection. False when the object vanished meanwhile (the caller uploads it again).
   */
  private async refresh(bucketName: string, key: string): Promise<boolean> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: bucketName,
          Key: key,
          CopySource: `${bucketName}/${key}`,
          MetadataDirective: 'REPLACE',
          ContentType: 'application/octet-stream',
          Metadata: { 'postflow-refreshed': new Date().toISOString() },
        }),
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
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

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NoSuchKey' || e?.name === 'NoSuchBucket' || e?.name === 'NotFound';
}
