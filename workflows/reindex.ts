import { continueAsNew, defineQuery, isCancellation, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { ReindexActivities } from '../activities/reindex-activities';
import type { JsonValue } from '../src/core/mail';
import { SWEEP_PAGE, TASK_STEP } from './lib/activity-options';

/** Messages read and indexed per activity: progress and the resume point move page by page. */
export const REINDEX_PAGE_SIZE = 200;
/** Users listed per activity during a full reindexing. */
export const REINDEX_USERS_PAGE = 100;
/** Pages handled by one run before continuing as new (keeps the workflow history bounded). */
export const PAGES_PER_RUN = 500;
/** Largest number of failures listed in the task's details (the counts stay exact). */
export const MAX_LISTED_FAILURES = 1_000;

export type ReindexType = 'full-reindexing' | 'user-reindexing' | 'mailbox-reindexing' | 'error-recovery-indexation' | 'message-reindexing';

export interface ReindexFailures {
  /** Mailbox id → UIDs that could not be indexed. */
  messageFailures: Record<string, number[]>;
  mailboxFailures: string[];
}

export interface ReindexInput {
  type: ReindexType;
  username?: string;
  mailboxId?: string;
  uid?: number;
  /** James' `messagesPerSecond`: indexing rate bound (null: unbounded). */
  messagesPerSecond: number | null;
  /** James' `mode`: `rebuildAll` clears a mailbox's documents before indexing it; `fixOutdated` only overwrites. */
  mode: 'rebuildAll' | 'fixOutdated';
  /** error-recovery-indexation: the failures of the previous task. */
  previousFailures?: ReindexFailures;
}

interface MailboxRef {
  id: string;
  owner: string;
}

/** Where a reindexing is: kept in workflow state, carried over `continueAsNew`, so it resumes after a crash. */
export interface ReindexState {
  startedDate: string;
  usersAfter: string | null;
  usersDone: boolean;
  mailboxes: MailboxRef[];
  /** Last UID done in `mailboxes[0]`, and whether it was cleared (rebuildAll). */
  afterUid: number;
  cleared: boolean;
  messagesDone: boolean;
  succeeded: number;
  failed: number;
  failures: ReindexFailures;
}

export interface ReindexProgress {
  startedDate: string | null;
  additionalInformation: Record<string, JsonValue>;
}

/** The same query name as the other tasks: the task manager reads progress with it. */
export const reindexProgressQuery = defineQuery<ReindexProgress>('progress');

const page = proxyActivities<ReindexActivities>({ ...SWEEP_PAGE, summary: 'reindex page' });
const step = proxyActivities<ReindexActivities>({ ...TASK_STEP, summary: 'reindex step' });

function additionalInformation(input: ReindexInput, state: ReindexState): Record<string, JsonValue> {
  const messageFailures: Record<string, JsonValue> = {};
  let listed = 0;
  for (const [mailboxId, uids] of Object.entries(state.failures.messageFailures)) {
    if (listed >= MAX_LISTED_FAILURES) break;
    const shown = uids.slice(0, MAX_LISTED_FAILURES - listed);
    listed += shown.length;
    messageFailures[mailboxId] = shown.map((uid) => ({ uid }));
  }
  const info: Record<string, JsonValue> = {};
  if (input.type === 'user-reindexing') info.username = input.username ?? null;
  if (input.type === 'mailbox-reindexing' || input.type === 'message-reindexing') info.mailboxId = input.mailboxId ?? null;
  if (input.type === 'message-reindexing') {
    info.uid = input.uid ?? null;
    return info;
  }
  return {
    ...info,
    successfullyReprocessedMailCount: state.succeeded,
    failedReprocessedMailCount: state.failed,
    runningOptions: { messagesPerSecond: input.messagesPerSecond, mode: input.mode === 'rebuildAll' ? 'REBUILD_ALL' : 'FIX_OUTDATED' },
    messageFailures,
    mailboxFailures: state.failures.mailboxFailures.slice(0, MAX_LISTED_FAILURES),
  };
}

function recordFailures(state: ReindexState, mailboxId: string, uids: number[]): void {
  if (uids.length === 0) return;
  state.failed += uids.length;
  state.failures.messageFailures[mailboxId] = [...(state.failures.messageFailures[mailboxId] ?? []), ...uids];
}

/**
 * Reindexes messages into the search index (James' ReIndexer tasks): everything, one user, one
 * mailbox, one message, or the failures of a previous task. Pages through users, mailboxes and
 * UIDs with a cursor kept in workflow state; cancellable (DELETE /tasks/{id}); resumable after
 * a worker crash (Temporal replays to the last completed page).
 */
export async function reindexMailboxes(input: ReindexInput, resumed?: ReindexState): Promise<Record<string, JsonValue>> {
  const state: ReindexState = resumed ?? {
    startedDate: new Date().toISOString(),
    usersAfter: null,
    usersDone: input.type !== 'full-reindexing',
    mailboxes: [],
    afterUid: 0,
    cleared: false,
    messagesDone: false,
    succeeded: 0,
    failed: 0,
    failures: { messageFailures: {}, mailboxFailures: [] },
  };
  setHandler(reindexProgressQuery, () => ({ startedDate: state.startedDate, additionalInformation: additionalInformation(input, state) }));

  if (input.type === 'message-reindexing') {
    const result = await step.reindexMessages(input.mailboxId as string, [input.uid as number]);
    state.succeeded += result.indexed;
    recordFailures(state, input.mailboxId as string, result.failed);
    return additionalInformation(input, state);
  }

  if (!resumed) {
    if (input.type === 'user-reindexing') state.mailboxes = await step.userMailboxes(input.username as string);
    if (input.type === 'mailbox-reindexing') {
      const owner = await step.mailboxOwner(input.mailboxId as string);
      state.mailboxes = owner === null ? [] : [{ id: input.mailboxId as string, owner }];
      if (owner === null) state.failures.mailboxFailures.push(input.mailboxId as string);
    }
    if (input.type === 'error-recovery-indexation') {
      for (const mailboxId of input.previousFailures?.mailboxFailures ?? []) {
        const owner = await step.mailboxOwner(mailboxId);
        if (owner !== null) state.mailboxes.push({ id: mailboxId, owner });
      }
    }
  }

  if (input.type === 'error-recovery-indexation' && !state.messagesDone) {
    for (const [mailboxId, uids] of Object.entries(input.previousFailures?.messageFailures ?? {})) {
      for (let i = 0; i < uids.length; i += REINDEX_PAGE_SIZE) {
        const result = await step.reindexMessages(mailboxId, uids.slice(i, i + REINDEX_PAGE_SIZE));
        state.succeeded += result.indexed;
        recordFailures(state, mailboxId, result.failed);
      }
    }
    state.messagesDone = true;
  }

  let pages = 0;
  for (;;) {
    if (state.mailboxes.length === 0) {
      if (state.usersDone) break;
      const users = await step.listUsers(state.usersAfter, REINDEX_USERS_PAGE);
      if (users.length < REINDEX_USERS_PAGE) state.usersDone = true;
      if (users.length === 0) continue;
      state.usersAfter = users[users.length - 1];
      for (const user of users) state.mailboxes.push(...(await step.userMailboxes(user)));
      continue;
    }
    const mailbox = state.mailboxes[0];
    try {
      if (input.mode === 'rebuildAll' && !state.cleared) {
        await step.clearMailbox(mailbox.id);
        state.cleared = true;
      }
      const result = await page.reindexMailboxPage(mailbox.owner, mailbox.id, state.afterUid, REINDEX_PAGE_SIZE);
      state.succeeded += result.indexed;
      recordFailures(state, mailbox.id, result.failed);
      if (input.messagesPerSecond !== null && result.indexed + result.failed.length > 0) {
        await sleep(Math.ceil(((result.indexed + result.failed.length) * 1000) / input.messagesPerSecond));
      }
      if (result.lastUid === null) {
        state.mailboxes.shift();
        state.afterUid = 0;
        state.cleared = false;
      } else {
        state.afterUid = result.lastUid;
      }
    } catch (err) {
      // A cancellation ends the task; any other failure of a mailbox is reported and the rest goes on.
      if (isCancellation(err)) throw err;
      state.failures.mailboxFailures.push(mailbox.id);
      state.mailboxes.shift();
      state.afterUid = 0;
      state.cleared = false;
    }
    if (++pages >= PAGES_PER_RUN) await continueAsNew<typeof reindexMailboxes>(input, state);
  }
  return additionalInformation(input, state);
}
