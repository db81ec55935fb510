import { PermanentError } from '../../core/errors';

export class BlobTooLargeError extends PermanentError {
  constructor(readonly maxBytes: number) {
    super(`Blob exceeds the limit of ${maxBytes} bytes`);
  }
}
