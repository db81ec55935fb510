import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { EventTaskActivities } from '../activities/event-task-activities';
import type { JsonValue } from '../src/core/mail';
import { TASK_STEP } from './lib/activity-options';
import { progressQuery, type TaskProgress } from './tasks';

/** Dead letters redelivered per activity: progress moves page by page. */
export const REDELIVERY_PAGE_SIZE = 100;

export interface RedeliveryTaskInput {
  /** James task type: `event-dead-letters-redeliver-all` / `-group` / `-one`. */
  type: string;
  group?: string;
  insertionId?: string;
}

const acts = proxyActivities<EventTaskActivities>({ ...TASK_STEP, summary: 'dead-letter redelivery step' });

/**
 * Hands event dead letters back to their group listeners (all, one group, or one letter),
 * as James' EventDeadLettersRedeliverTask; counts successes and failures.
 */
export async function redeliverEventDeadLetters(input: RedeliveryTaskInput): Promise<Record<string, JsonValue>> {
  let successfulRedeliveriesCount = 0;
  let failedRedeliveriesCount = 0;
  const info = (): Record<string, JsonValue> => ({
    type: input.type,
    successfulRedeliveriesCount,
    failedRedeliveriesCount,
    group: input.group ?? null,
    insertionId: input.insertionId ?? null,
    timestamp: new Date().toISOString(),
  });
  const progress: TaskProgress = { startedDate: new Date().toISOString(), additionalInformation: info() };
  setHandler(progressQuery, () => progress);
  const groups = input.group !== undefined ? [input.group] : await acts.listDeadLetterGroups();
  for (const group of groups) {
    const ids = input.insertionId !== undefined ? [input.insertionId] : await acts.listDeadLetterIds(group);
    for (let i = 0; i < ids.length; i += REDELIVERY_PAGE_SIZE) {
      const page = await acts.redeliverDeadLetterPage(group, ids.slice(i, i + REDELIVERY_PAGE_SIZE));
      successfulRedeliveriesCount += page.successful;
      failedRedeliveriesCount += page.failed;
      progress.additionalInformation = info();
    }
  }
  progress.additionalInformation = info();
  return progress.additionalInformation;
}
