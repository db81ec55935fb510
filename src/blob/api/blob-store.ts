import type { Readable } from 'node:stream';

/** Blob ids are content addresses: the lower-case hex SHA-256 of the bytes. */
export type BlobId = string;

/** Buckets used by Postflow. A bucket name is `[a-z0-9-]{1,40}`. */
export const MAIL_BUCKET = 'mail';

export interface StoredBlob {
  blobId: BlobId;
  size: number;
}

export interface PutOptions {
  /** Refuse (BlobTooLargeError) and store nothing once more than this many bytes arrived. */
  maxBytes?: number;
}

/**
 * Streaming, content-addressed blob storage. Writing the same bytes twice stores them once and
 * returns the same id. A put is durable when its promise resolves.
 */
export interface BlobStore {
  put(bucket: string, data: Readable | Buffer, options?: PutOptions): Promise<StoredBlob>;
  /** Streams the blob; rejects with NotFoundError when it does not exist. */
  read(bucket: string, blobId: BlobId): Promise<Readable>;
  readBytes(bucket: string, blobId: BlobId): Promise<Buffer>;
  exists(bucket: string, blobId: BlobId): Promise<boolean>;
  delete(bucket: string, blobId: BlobId): Promise<void>;
}
