import { defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { TaskActivities } from '../activities/task-activities';
import type { JsonValue } from '../src/core/mail';
import { TASK_STEP } from './lib/activity-options';

/** Mails handled per activity of a long task: progress moves page by page. */
export const TASK_PAGE_SIZE = 100;

export type AdditionalInformation = Record<string, JsonValue>;

export interface TaskProgress {
  startedDate: string | null;
  additionalInformation: AdditionalInformation;
}

/** Progress of a running task (WebAdmin `/tasks/{id}` reads it). */
export const progressQuery = defineQuery<TaskProgress>('progress');

const acts = proxyActivities<TaskActivities>({ ...TASK_STEP, summary: 'task step' });

function track(initial: AdditionalInformation): TaskProgress {
  const progress: TaskProgress = { startedDate: new Date().toISOString(), additionalInformation: initial };
  setHandler(progressQuery, () => progress);
  return progress;
}

function taskId(): string {
  return workflowInfo().workflowId.replace(/^task-/, '');
}

export interface ReprocessInput {
  repositoryPath: string;
  targetProcessor: string | null;
  targetQueue: string;
  /** Only this mail (James `reprocessing-one`). */
  key?: string;
}

/** Reprocesses the mails of a repository (all, or one) from a chosen processor (James reprocessing). */
export async function reprocessMailRepository(input: ReprocessInput): Promise<AdditionalInformation> {
  const base = { repositoryPath: input.repositoryPath, targetQueue: input.targetQueue, targetProcessor: input.targetProcessor };
  if (input.key !== undefined) {
    const progress = track({ ...base, mailKey: input.key });
    await acts.reprocessMails(input.repositoryPath, [input.key], input.targetProcessor, taskId());
    return progress.additionalInformation;
  }
  const initialCount = await acts.repositorySize(input.repositoryPath);
  const progress = track({ ...base, initialCount, remainingCount: initialCount });
  // Keyset paging over a snapshot order: a mail that fails again is stored under its old key,
  // behind the cursor, so it is not reprocessed twice by this task.
  let after: string | undefined;
  let done = 0;
  for (;;) {
    const keys = await acts.repositoryKeys(input.repositoryPath, after, TASK_PAGE_SIZE);
    if (keys.length === 0) break;
    done += await acts.reprocessMails(input.repositoryPath, keys, input.targetProcessor, taskId());
    after = keys[keys.length - 1];
    progress.additionalInformation = { ...progress.additionalInformation, remainingCount: Math.max(0, initialCount - done) };
  }
  progress.additionalInformation = { ...progress.additionalInformation, remainingCount: await acts.repositorySize(input.repositoryPath) };
  return progress.additionalInformation;
}

/** Deletes every mail of a repository (James `clear-mail-repository`). */
export async function clearMailRepository(input: { repositoryPath: string }): Promise<AdditionalInformation> {
  const initialCount = await acts.repositorySize(input.repositoryPath);
  const progress = track({ repositoryPath: input.repositoryPath, initialCount, remainingCount: initialCount });
  for (;;) {
    const removed = await acts.removeRepositoryPage(input.repositoryPath, TASK_PAGE_SIZE);
    if (removed === 0) break;
    progress.additionalInformation = { ...progress.additionalInformation, remainingCount: await acts.repositorySize(input.repositoryPath) };
  }
  progress.additionalInformation = { ...progress.additionalInformation, remainingCount: await acts.repositorySize(input.repositoryPath) };
  return progress.additionalInformation;
}

export interface QueueDeletionInput {
  mailQueueName: string;
  sender?: string;
  recipient?: string;
  name?: string;
}

/** Deletes queued mails, all (James `clear-mail-queue`) or by sender/recipient/name (`delete-mails-from-mail-queue`). */
export async function deleteQueuedMails(input: QueueDeletionInput): Promise<AdditionalInformation> {
  const filter = { sender: input.sender, recipient: input.recipient, name: input.name };
  const initialCount = await acts.queueSize(input.mailQueueName, filter);
  const info: AdditionalInformation = { mailQueueName: input.mailQueueName, initialCount, remainingCount: initialCount };
  for (const key of ['sender', 'recipient', 'name'] as const) if (input[key] !== undefined) info[key] = input[key] as string;
  const progress = track(info);
  const removed = await acts.removeQueuedMails(input.mailQueueName, filter);
  progress.additionalInformation = { ...progress.additionalInformation, remainingCount: Math.max(0, initialCount - removed) };
  return progress.additionalInformation;
}
