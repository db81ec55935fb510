/**
 * Error taxonomy shared by every layer. Each protocol translates these at its edge
 * (SMTP reply code, IMAP NO/BAD, HTTP status); activities turn PermanentError into
 * non-retryable failures.
 */
export class PostflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A failure that may succeed when retried (engine unreachable, timeout): 4xx-like. */
export class TemporaryError extends PostflowError {}

/** A failure that will fail again when retried: 5xx-like. */
export class PermanentError extends PostflowError {}

/** The input does not satisfy the documented syntax or limits. */
export class InvalidInputError extends PermanentError {}

/** The named entity does not exist. */
export class NotFoundError extends PermanentError {}

/** The entity to create exists already. */
export class AlreadyExistsError extends PermanentError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
