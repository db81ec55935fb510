import { ApplicationFailure } from '@temporalio/activity';
import { PermanentError } from '../src/core/errors';

/** The one boundary where permanent errors become non-retryable activity failures. */
export async function withFailureMapping<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof PermanentError) throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}
