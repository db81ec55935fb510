import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/** Named timeout/retry profiles: every activity proxy takes one of these. */

/**
 * Matchers and `local` mailets of a processor batch, run in-process by one local activity (one
 * marker event, no task round trip). Its attempts bound how often a failing batch is retried before
 * the failing step's exception mode applies (the last attempt handles errors instead of retrying).
 */
export const LOCAL_BATCH: LocalActivityOptions = {
  startToCloseTimeout: '60 seconds',
  // 0.5 + 1 + 2 + 4 + 8 s: rides out a short store outage before errors route to the error processor.
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 6 },
};

/** Mailets with durable side effects (`execution: activity`): own activity, retried with back-off. */
export const DURABLE_STEP: ActivityOptions = {
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8, nonRetryableErrorTypes: ['PermanentError'] },
};

/** Repository writes of the last-resort path (idempotent upserts). */
export const REPOSITORY_WRITE: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
};

/**
 * One SMTP transaction with a remote server. Not retried by Temporal: a failed attempt is a
 * temporary failure that deliverRemotely retries on its own schedule (James' delays), with the
 * delay visible in the queue; SMTP timeouts inside the activity are shorter than this.
 */
export const SMTP_SEND: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 1 },
};

/** Steps of admin tasks (reprocess a page of mails, delete queued mails): idempotent, retried. */
export const TASK_STEP: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
};

/**
 * Long scans of maintenance workflows (the blob GC's reference scan): bounded by heartbeats rather
 * than a short timeout; a worker that dies is noticed within the heartbeat timeout and the scan
 * restarts. The workflow waits for a cancelled scan to stop before it cleans up.
 */
export const LONG_SCAN: ActivityOptions = {
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '2 minutes',
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 5 },
};

/** One page of a maintenance sweep (a few thousand blobs): short, heartbeating, waited for on cancellation. */
export const SWEEP_PAGE: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};
