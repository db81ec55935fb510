import { Readable } from 'node:stream';
import type { BlobId, BlobInfo, BlobStorage, BlobStore, ListOptions, PutOptions, StoredBlob } from '../api';
import { assertBlobId, assertBucket } from '../api/names';
import { putThroughStage } from '../staging';
import { BlobKey, HEADER_LENGTH, SegmentEncryptor, decryptSegments, openHeader, plaintextSize } from './blob-cipher';

/**
 * AES-256-GCM encryption at rest over any adapter (files, S3): what the adapter stores is the
 * format of `blob-cipher.ts`, written and read as a stream (one 64 KiB segment in memory at a
 * time). Ids stay content addresses of the plaintext, keyed (HMAC) so that equal content still
 * deduplicates while an id does not confirm a guessed content. Sizes are those of the plaintext.
 */
export class EncryptingBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStorage,
    private readonly key: BlobKey,
  ) {}

  /** Id of the key blobs are written with (a digest, safe to log). */
  get keyId(): string {
    return this.key.keyId;
  }

  async put(bucket: string, data: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    assertBucket(bucket);
    return putThroughStage(await this.inner.stage(bucket), data, this.key.addressDigest(), { ...options, transform: new SegmentEncryptor(this.key) });
  }

  /**
   * Reads and checks the header before resolving, so a blob of another key or a plaintext blob
   * rejects here (WrongBlobKeyError / BlobDecryptionError) rather than midway through a stream.
   */
  async read(bucket: string, blobId: BlobId): Promise<Readable> {
    assertBlobId(blobId);
    const raw = await this.inner.read(bucket, blobId);
    const source = raw[Symbol.asyncIterator]();
    try {
      let head = Buffer.alloc(0);
      while (head.length < HEADER_LENGTH) {
        const next = await source.next();
        if (next.done) break;
        head = Buffer.concat([head, next.value as Buffer]);
      }
      const location = `${bucket}/${blobId}`;
      const header = openHeader(head, this.key, location);
      const plaintext = decryptSegments(header, head.subarray(HEADER_LENGTH), source, { location, blobId });
      return Readable.from(plaintext, { objectMode: false });
    } catch (err) {
      raw.destroy();
      throw err;
    }
  }

  async readBytes(bucket: string, blobId: BlobId): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.read(bucket, blobId)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  exists(bucket: string, blobId: BlobId): Promise<boolean> {
    return this.inner.exists(bucket, blobId);
  }

  async stat(bucket: string, blobId: BlobId): Promise<BlobInfo | null> {
    const info = await this.inner.stat(bucket, blobId);
    return info && { ...info, size: plaintextSize(info.size) };
  }

  delete(bucket: string, blobId: BlobId): Promise<void> {
    return this.inner.delete(bucket, blobId);
  }

  deleteIfUnmodifiedSince(bucket: string, blobId: BlobId, cutoff: Date): Promise<boolean> {
    return this.inner.deleteIfUnmodifiedSince(bucket, blobId, cutoff);
  }

  async *list(bucket: string, options?: ListOptions): AsyncIterable<BlobInfo[]> {
    for await (const page of this.inner.list(bucket, options)) yield page.map((info) => ({ ...info, size: plaintextSize(info.size) }));
  }
}

/** The store a node uses: the adapter itself, or the adapter behind encryption when a key is configured. */
export function withOptionalEncryption(storage: BlobStorage, encryption: { key?: string }): BlobStore {
  return encryption.key ? new EncryptingBlobStore(storage, BlobKey.fromBase64(encryption.key)) : storage;
}
