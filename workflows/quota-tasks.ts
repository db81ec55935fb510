import { proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { QuotaActivities } from '../activities/quota-activities';
import type { JsonValue } from '../src/core/mail';
import { TASK_STEP } from './lib/activity-options';
import { progressQuery, type TaskProgress } from './tasks';

/** Users recomputed per activity: progress moves page by page. */
export const QUOTA_TASK_PAGE_SIZE = 50;

const acts = proxyActivities<QuotaActivities>({ ...TASK_STEP, summary: 'recompute quotas' });

export interface RecomputeQuotasInput {
  /** Pace (James `usersPerSecond`); null: as fast as the stores answer. */
  usersPerSecond: number | null;
}

/**
 * James' `RecomputeCurrentQuotasTask` (type `recompute-current-quotas`): the usage of every user
 * is computed again from the mailbox counters and stored, fixing a drift of the stored usage.
 */
export async function recomputeCurrentQuotas(input: RecomputeQuotasInput): Promise<Record<string, JsonValue>> {
  const failed: string[] = [];
  const progress: TaskProgress = {
    startedDate: new Date().toISOString(),
    additionalInformation: {
      type: 'recompute-current-quotas',
      processedQuotaRoots: 0,
      failedQuotaRoots: [],
      runningOptions: { usersPerSecond: input.usersPerSecond, quotaComponents: ['MAILBOX'] },
      timestamp: new Date().toISOString(),
    },
  };
  setHandler(progressQuery, () => progress);
  let after: string | null = null;
  let processed = 0;
  for (;;) {
    const users: string[] = await acts.quotaUsersPage(after, QUOTA_TASK_PAGE_SIZE);
    if (users.length === 0) break;
    const result = await acts.recomputeQuotas(users);
    processed += result.processed;
    failed.push(...result.failedQuotaRoots);
    progress.additionalInformation = { ...progress.additionalInformation, processedQuotaRoots: processed, failedQuotaRoots: [...failed], timestamp: new Date().toISOString() };
    after = users[users.length - 1];
    if (input.usersPerSecond !== null) await sleep(Math.ceil((users.length * 1000) / input.usersPerSecond));
  }
  return progress.additionalInformation;
}
