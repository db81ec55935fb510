import type { Readable } from 'node:stream';

/**
 * Blob ids are content addresses: 64 lower-case hex digits. A plain store uses the SHA-256 of the
 * bytes; an encrypting store a keyed digest (HMAC-SHA-256) of the plaintext, so that equal content
 * still deduplicates but an id no longer confirms a guessed content (see docs/blob-gc.md).
 */
export type BlobId = string;

/** Buckets used by Postflow. A bucket name is `[a-z0-9-]{1,40}`. */
export const MAIL_BUCKET = 'mail';

export interface StoredBlob {
  blobId: BlobId;
  size: number;
}

/** One entry of a bucket listing. */
export interface BlobInfo {
  blobId: BlobId;
  /** Size of the content (the plaintext for an encrypting store). */
  size: number;
  /**
   * When the blob was last written. Storing bytes that exist already (a deduplicated put) moves it
   * forward: garbage collection uses it as the blob's age and never deletes a blob written after
   * its cut-off.
   */
  lastModified: Date;
}

export interface PutOptions {
  /** Refuse (BlobTooLargeError) and store nothing once more than this many bytes arrived. */
  maxBytes?: number;
}

export interface ListOptions {
  /** Start after this blob id (exclusive): the cursor of a listing resumed in a later call. */
  after?: BlobId;
  /** Entries per page (default LIST_PAGE_SIZE, at most MAX_LIST_PAGE_SIZE). */
  pageSize?: number;
}

/** Default listing page: S3's own maximum for one ListObjectsV2 call. */
export const LIST_PAGE_SIZE = 1_000;
export const MAX_LIST_PAGE_SIZE = 1_000;

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
  /** Size and write time of a blob; null when it does not exist. */
  stat(bucket: string, blobId: BlobId): Promise<BlobInfo | null>;
  delete(bucket: string, blobId: BlobId): Promise<void>;
  /**
   * Deletes the blob only when it was last written before `cutoff`; false when it is younger (a
   * put raced the decision) or missing. Garbage collection deletes through this only.
   */
  deleteIfUnmodifiedSince(bucket: string, blobId: BlobId, cutoff: Date): Promise<boolean>;
  /**
   * The bucket's blobs in ascending id order, one page (array) at a time; a missing bucket lists
   * nothing. Pages are fetched lazily, so a caller may stop after any page and resume later with
   * `after` set to the last id it saw.
   */
  list(bucket: string, options?: ListOptions): AsyncIterable<BlobInfo[]>;
}

/**
 * A write whose id is only known at its end: bytes are staged (a temporary file), then committed
 * under the id the writer computed. Lets a decorator (encryption) store other bytes than those
 * it hashes, with the adapters' atomicity (a crash never leaves a partial blob under an id).
 */
export interface StagedBlob {
  write(bytes: Buffer): Promise<void>;
  /**
   * Stores the staged bytes under `blobId`. When a blob with that id exists already it is kept
   * (deduplication) and its write time is moved to now. Releases the staging in every case.
   */
  commit(blobId: BlobId): Promise<void>;
  /** Drops the staged bytes. Safe to call after a failed commit. */
  abort(): Promise<void>;
}

/** An adapter: a BlobStore that also offers staged writes to decorators. */
export interface BlobStorage extends BlobStore {
  stage(bucket: string): Promise<StagedBlob>;
}
