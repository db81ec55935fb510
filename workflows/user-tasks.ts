import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { UserTaskActivities } from '../activities/user-task-activities';
import type { JsonValue } from '../src/core/mail';
import { TASK_STEP } from './lib/activity-options';
import { progressQuery, type TaskProgress } from './tasks';

const acts = proxyActivities<UserTaskActivities>({ ...TASK_STEP, summary: 'user task step' });

type StepState = 'WAITING' | 'IN_PROGRESS' | 'DONE' | 'FAILED' | 'ABORTED' | 'SKIPPED';

/**
 * Runs steps in order with James' per-step states: the steps before `fromStep` are SKIPPED; when
 * one fails it is FAILED, those not run yet are ABORTED, and the task fails.
 */
async function runSteps(
  steps: readonly string[],
  fromStep: string | null,
  info: (status: Record<string, StepState>) => Record<string, JsonValue>,
  run: (step: string) => Promise<void>,
): Promise<Record<string, JsonValue>> {
  const status: Record<string, StepState> = {};
  const start = fromStep === null ? 0 : Math.max(0, steps.indexOf(fromStep));
  steps.forEach((step, i) => (status[step] = i < start ? 'SKIPPED' : 'WAITING'));
  const progress: TaskProgress = { startedDate: new Date().toISOString(), additionalInformation: info(status) };
  setHandler(progressQuery, () => progress);
  for (const step of steps.slice(start)) {
    status[step] = 'IN_PROGRESS';
    progress.additionalInformation = info(status);
    try {
      await run(step);
    } catch (err) {
      status[step] = 'FAILED';
      for (const other of steps) if (status[other] === 'WAITING') status[other] = 'ABORTED';
      progress.additionalInformation = info(status);
      throw err;
    }
    status[step] = 'DONE';
    progress.additionalInformation = info(status);
  }
  return progress.additionalInformation;
}

export interface UsernameChangeInput {
  oldUser: string;
  newUser: string;
  steps: string[];
  fromStep: string | null;
}

/** James' UsernameChangeTask: moves the old user's data to the new user, step by step. */
export async function changeUsername(input: UsernameChangeInput): Promise<Record<string, JsonValue>> {
  return runSteps(
    input.steps,
    input.fromStep,
    (status) => ({ type: 'UsernameChangeTask', oldUser: input.oldUser, newUser: input.newUser, status: { ...status }, fromStep: input.fromStep, timestamp: new Date().toISOString() }),
    (step) => acts.runUsernameChangeStep(step, input.oldUser, input.newUser),
  );
}

export interface DeleteUserDataInput {
  username: string;
  steps: string[];
  fromStep: string | null;
}

/** James' DeleteUserDataTask: deletes the data of a user, step by step. */
export async function deleteUserData(input: DeleteUserDataInput): Promise<Record<string, JsonValue>> {
  return runSteps(
    input.steps,
    input.fromStep,
    (status) => ({ type: 'DeleteUserDataTask', username: input.username, status: { ...status }, fromStep: input.fromStep, timestamp: new Date().toISOString() }),
    (step) => acts.runDeleteUserDataStep(step, input.username),
  );
}
