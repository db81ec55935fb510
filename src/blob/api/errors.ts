import { PermanentError } from '../../core/errors';

export class BlobTooLargeError extends PermanentError {
  constructor(readonly maxBytes: number) {
    super(`Blob exceeds the limit of ${maxBytes} bytes`);
  }
}

/**
 * An encrypted blob that cannot be turned back into its content: authentication failed
 * (corrupted, truncated or tampered bytes) or the bytes are not in the encrypted format.
 * Retrying reads the same bytes again: permanent.
 */
export class BlobDecryptionError extends PermanentError {}

/** The blob was encrypted with another key than the configured one (named by key id, never by key). */
export class WrongBlobKeyError extends BlobDecryptionError {
  constructor(
    readonly location: string,
    readonly blobKeyId: string,
    readonly configuredKeyId: string,
  ) {
    super(`Blob ${location} was encrypted with key ${blobKeyId}, not with the configured blobStore.encryption.key (key ${configuredKeyId})`);
  }
}
