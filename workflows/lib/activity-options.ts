import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/** Named timeout/retry profiles: every activity proxy takes one of these. */

/** Matchers and cheap mailets: local activities (one marker event each, no task round trip). */
export const LOCAL_STEP: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
};

/** Mailets with side effects (delivery, repositories): durable activities, retried with back-off. */
export const DURABLE_STEP: ActivityOptions = {
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
};
