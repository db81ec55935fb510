import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { InvalidInputError, NotFoundError } from '../core/errors';
import type { JsonValue } from '../core/mail';
import { RecentIds } from './recent-ids';

/** James' task statuses. */
export type TaskStatus = 'waiting' | 'inProgress' | 'completed' | 'failed' | 'canceled';
export const TASK_STATUSES: TaskStatus[] = ['waiting', 'inProgress', 'completed', 'failed', 'canceled'];

/** A task as WebAdmin shows it (James' JSON). */
export interface TaskView {
  taskId: string;
  type: string;
  status: TaskStatus;
  additionalInformation: Record<string, JsonValue>;
  submitDate: string;
  startedDate: string | null;
  completedDate: string | null;
  cancelledDate: string | null;
  failedDate: string | null;
  submittedFrom: string;
  executedOn: string | null;
}

/** Workflow types that are tasks (the admin operations behind `/tasks`). */
export const TASK_WORKFLOW_TYPES = ['reprocessMailRepository', 'clearMailRepository', 'deleteQueuedMails', 'redeliverEventDeadLetters', 'changeUsername', 'deleteUserData', 'recomputeCurrentQuotas', 'reindexMailboxes'];
/** A running task's progress is read by query; a node that cannot answer within this is reported without it. */
export const PROGRESS_QUERY_TIMEOUT_MS = 2_000;
/** Tasks listed at most by one `GET /tasks`. */
export const MAX_LISTED_TASKS = 500;
/** How long a task submitted on this node is listed from memory too, and how many are kept. */
export const RECENT_TASK_WINDOW_MS = 60_000;
export const MAX_RECENT_TASKS = 1_000;

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The task manager on Temporal: a task is a workflow `task-<taskId>` of a task workflow type;
 * its type and submitter are in its memo, its progress answers the `progress` query; cancel is
 * workflow cancellation. Any node sees and cancels any node's tasks.
 */
export class TaskManager {
  /**
   * Tasks this node submitted lately (id → submit time): a listing includes them even before the
   * server's visibility store lists them (it records a workflow asynchronously, up to a second
   * later with the embedded dev server's settings), so a client that submitted or awaited a task
   * here finds it in `GET /tasks` at once.
   */
  private readonly recent = new RecentIds(RECENT_TASK_WINDOW_MS, MAX_RECENT_TASKS);

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  async submit(type: string, workflowType: string, input: unknown): Promise<string> {
    const taskId = randomUUID();
    await this.client.workflow.start(workflowType, {
      workflowId: workflowIdOf(taskId),
      taskQueue: this.taskQueue,
      args: [input],
      memo: { taskType: type, submittedFrom: hostname() },
      staticSummary: `task ${type}`,
    });
    this.recent.add(taskId);
    return taskId;
  }

  async get(taskId: string): Promise<TaskView> {
    const handle = this.client.workflow.getHandle(workflowIdOf(checkTaskId(taskId)));
    let description: WorkflowExecutionDescription;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new NotFoundError('The taskId is not found');
      throw err;
    }
    if (!TASK_WORKFLOW_TYPES.includes(description.type)) throw new NotFoundError('The taskId is not found');
    const memo = (description.memo ?? {}) as { taskType?: string; submittedFrom?: string };
    const status = statusOf(description);
    let progress: { startedDate: string | null; additionalInformation: Record<string, JsonValue> } | null = null;
    if (status === 'completed') {
      progress = { startedDate: null, additionalInformation: (await handle.result()) as Record<string, JsonValue> };
    } else if (status !== 'waiting') {
      progress = await withTimeout(handle.query<{ startedDate: string | null; additionalInformation: Record<string, JsonValue> }>('progress'), PROGRESS_QUERY_TIMEOUT_MS).catch(() => null);
    }
    const closed = description.closeTime?.toISOString() ?? null;
    return {
      taskId,
      type: memo.taskType ?? description.type,
      status,
      additionalInformation: progress?.additionalInformation ?? {},
      submitDate: description.startTime.toISOString(),
      startedDate: status === 'waiting' ? null : (progress?.startedDate ?? description.startTime.toISOString()),
      completedDate: status === 'completed' ? closed : null,
      cancelledDate: status === 'canceled' ? closed : null,
      failedDate: status === 'failed' ? closed : null,
      submittedFrom: memo.submittedFrom ?? 'unknown',
      executedOn: status === 'waiting' ? null : description.taskQueue,
    };
  }

  async list(status?: string): Promise<TaskView[]> {
    const clauses = [`TaskQueue = ${JSON.stringify(this.taskQueue)}`, `WorkflowType IN (${TASK_WORKFLOW_TYPES.map((t) => JSON.stringify(t)).join(', ')})`];
    if (status !== undefined) {
      if (!TASK_STATUSES.includes(status as TaskStatus)) throw new InvalidInputError(`Invalid status query parameter ${status} (one of ${TASK_STATUSES.join(', ')})`);
      clauses.push(executionStatusClause(status as TaskStatus));
    }
    const ids = new Set<string>();
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND ') })) {
      ids.add(info.workflowId.replace(/^task-/, ''));
      if (ids.size >= MAX_LISTED_TASKS) break;
    }
    // Each listed task is read again below (the status filter applies to what it reads).
    for (const id of this.recent.list()) if (ids.size < MAX_LISTED_TASKS) ids.add(id);
    const tasks = await Promise.all([...ids].map((id) => this.get(id).catch(() => null)));
    return tasks.filter((t): t is TaskView => t !== null && (status === undefined || t.status === status));
  }

  /** Waits until the task ends or the timeout passes; returns the task either way, and whether it ended. */
  async await(taskId: string, timeoutMs: number): Promise<{ task: TaskView; ended: boolean }> {
    await this.get(taskId);
    const handle = this.client.workflow.getHandle(workflowIdOf(taskId));
    const ended = await withTimeout(handle.result().then(() => true, () => true), timeoutMs).catch(() => false);
    return { task: await this.get(taskId), ended };
  }

  async cancel(taskId: string): Promise<void> {
    const task = await this.get(taskId);
    const handle = this.client.workflow.getHandle(workflowIdOf(taskId));
    // A waiting task never ran: nothing to undo, it ends now (James: canceled before start).
    if (task.status === 'waiting') await handle.terminate('canceled before it started (DELETE /tasks)');
    else if (task.status === 'inProgress') await handle.cancel();
  }
}

function workflowIdOf(taskId: string): string {
  return `task-${taskId}`;
}

function checkTaskId(taskId: string): string {
  if (!TASK_ID.test(taskId)) throw new InvalidInputError(`Invalid task id: ${taskId}`);
  return taskId;
}

function statusOf(description: WorkflowExecutionDescription): TaskStatus {
  switch (description.status.name) {
    case 'RUNNING':
      // Only the start and the first workflow task scheduled: no worker took it yet.
      return (description.historyLength ?? 0) <= 2 ? 'waiting' : 'inProgress';
    case 'COMPLETED':
      return 'completed';
    case 'CANCELLED':
    case 'TERMINATED':
      return 'canceled';
    default:
      return 'failed';
  }
}

function executionStatusClause(status: TaskStatus): string {
  switch (status) {
    case 'waiting':
    case 'inProgress':
      return 'ExecutionStatus = "Running"';
    case 'completed':
      return 'ExecutionStatus = "Completed"';
    case 'canceled':
      return '(ExecutionStatus = "Canceled" OR ExecutionStatus = "Terminated")';
    case 'failed':
      return '(ExecutionStatus = "Failed" OR ExecutionStatus = "TimedOut")';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
