import { InvalidInputError } from '../../core/errors';

const BUCKET = /^[a-z0-9-]{1,40}$/;
const BLOB_ID = /^[0-9a-f]{64}$/;

export function isBucket(bucket: unknown): bucket is string {
  return typeof bucket === 'string' && BUCKET.test(bucket);
}

export function assertBucket(bucket: string): void {
  if (!isBucket(bucket)) throw new InvalidInputError(`Invalid bucket name: ${JSON.stringify(bucket)}`);
}

/** Blob ids are 64 hex digits (a digest); anything else (e.g. `../x`) is refused before any I/O. */
export function assertBlobId(blobId: string): void {
  if (!isBlobId(blobId)) throw new InvalidInputError(`Invalid blob id: ${JSON.stringify(blobId)}`);
}

export function isBlobId(blobId: unknown): blobId is string {
  return typeof blobId === 'string' && BLOB_ID.test(blobId);
}
