import type { FastifyInstance, FastifyReply } from 'fastify';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import type { MailboxManager } from '../../mailbox/api/mailbox-manager';
import type { TaskManager } from '../../tasks/task-manager';
import type { ReindexFailures, ReindexInput, ReindexType } from '../../../workflows/reindex';

/** Largest `messagesPerSecond` accepted. */
export const MAX_MESSAGES_PER_SECOND = 100_000;
/** James' default indexing rate of a reindexing task. */
export const DEFAULT_MESSAGES_PER_SECOND = 50;
const WORKFLOW = 'reindexMailboxes';
const MAILBOX_ID = /^[A-Za-z0-9-]{1,100}$/;

interface Query {
  task?: string;
  messagesPerSecond?: string;
  mode?: string;
  reIndexFailedMessagesOf?: string;
}

function checkTask(query: Query): void {
  if (query.task === undefined) throw new InvalidInputError("'task' query parameter is compulsory. Supported values are [reIndex]");
  if (query.task !== 'reIndex') throw new InvalidInputError(`Invalid value supplied for query parameter 'task': ${query.task}. Supported values are [reIndex]`);
}

function runningOptions(query: Query): Pick<ReindexInput, 'messagesPerSecond' | 'mode'> {
  let messagesPerSecond = DEFAULT_MESSAGES_PER_SECOND;
  if (query.messagesPerSecond !== undefined) {
    const n = Number(query.messagesPerSecond);
    if (!/^\d+$/.test(query.messagesPerSecond) || !Number.isSafeInteger(n) || n <= 0 || n > MAX_MESSAGES_PER_SECOND) {
      throw new InvalidInputError(`'messagesPerSecond' must be a strictly positive integer (at most ${MAX_MESSAGES_PER_SECOND})`);
    }
    messagesPerSecond = n;
  }
  const mode = query.mode ?? 'rebuildAll';
  if (mode !== 'rebuildAll' && mode !== 'fixOutdated') throw new InvalidInputError(`Invalid mode ${mode}: must be rebuildAll or fixOutdated`);
  return { messagesPerSecond, mode };
}

function checkMailboxId(id: string): string {
  if (!MAILBOX_ID.test(id)) throw new InvalidInputError(`Error while parsing 'mailbox': invalid mailbox id ${id}`);
  return id;
}

/** The failures recorded by a finished reindexing task (`additionalInformation`), as the workflow input. */
function failuresOf(info: Record<string, unknown>): ReindexFailures {
  const messageFailures: Record<string, number[]> = {};
  for (const [mailboxId, list] of Object.entries((info.messageFailures ?? {}) as Record<string, Array<{ uid: number }>>)) {
    messageFailures[mailboxId] = (Array.isArray(list) ? list : []).map((f) => f.uid).filter((uid) => Number.isSafeInteger(uid));
  }
  const mailboxFailures = Array.isArray(info.mailboxFailures) ? (info.mailboxFailures as unknown[]).filter((m): m is string => typeof m === 'string') : [];
  return { messageFailures, mailboxFailures };
}

/**
 * James' reindexing routes: POST /mailboxes?task=reIndex (all, or `reIndexFailedMessagesOf`
 * a previous task), /users/{user}/mailboxes?task=reIndex, /mailboxes/{id}?task=reIndex and
 * /mailboxes/{id}/mails/{uid}?task=reIndex. Each answers 201 `{"taskId"}` with a Location.
 */
export function reindexRoutes(deps: { tasks: TaskManager; mailboxes: MailboxManager; userExists(user: string): Promise<boolean> }) {
  return async (app: FastifyInstance): Promise<void> => {
    const submit = async (reply: FastifyReply, type: ReindexType, input: ReindexInput) => {
      const taskId = await deps.tasks.submit(type, WORKFLOW, input);
      return reply.status(201).header('location', `/tasks/${taskId}`).send({ taskId });
    };

    app.post<{ Querystring: Query }>('/mailboxes', async (request, reply) => {
      checkTask(request.query);
      const options = runningOptions(request.query);
      const previous = request.query.reIndexFailedMessagesOf;
      if (previous === undefined) return submit(reply, 'full-reindexing', { type: 'full-reindexing', ...options });
      let task;
      try {
        task = await deps.tasks.get(previous);
      } catch (err) {
        if (err instanceof NotFoundError) throw new InvalidInputError(`TaskId ${previous} does not exist`);
        throw err;
      }
      if (!['full-reindexing', 'user-reindexing', 'mailbox-reindexing', 'error-recovery-indexation'].includes(task.type)) {
        throw new InvalidInputError(`Task ${previous} is not a reindexing task`);
      }
      return submit(reply, 'error-recovery-indexation', { type: 'error-recovery-indexation', ...options, previousFailures: failuresOf(task.additionalInformation) });
    });

    app.post<{ Params: { user: string }; Querystring: Query }>('/users/:user/mailboxes', async (request, reply) => {
      checkTask(request.query);
      const options = runningOptions(request.query);
      const user = request.params.user.toLowerCase();
      if (!(await deps.userExists(user))) throw new NotFoundError(`User ${user} does not exist`);
      return submit(reply, 'user-reindexing', { type: 'user-reindexing', username: user, ...options });
    });

    app.post<{ Params: { mailboxId: string }; Querystring: Query }>('/mailboxes/:mailboxId', async (request, reply) => {
      checkTask(request.query);
      const options = runningOptions(request.query);
      const mailboxId = checkMailboxId(request.params.mailboxId);
      if (!(await deps.mailboxes.getMailboxById(mailboxId))) throw new NotFoundError(`mailbox not found: ${mailboxId}`);
      return submit(reply, 'mailbox-reindexing', { type: 'mailbox-reindexing', mailboxId, ...options });
    });

    app.post<{ Params: { mailboxId: string; uid: string }; Querystring: Query }>('/mailboxes/:mailboxId/mails/:uid', async (request, reply) => {
      checkTask(request.query);
      const mailboxId = checkMailboxId(request.params.mailboxId);
      const uid = Number(request.params.uid);
      if (!/^\d+$/.test(request.params.uid) || !Number.isSafeInteger(uid) || uid < 1) throw new InvalidInputError(`Error while parsing 'uid': ${request.params.uid}`);
      if (!(await deps.mailboxes.getMailboxById(mailboxId))) throw new NotFoundError(`mailbox not found: ${mailboxId}`);
      return submit(reply, 'message-reindexing', { type: 'message-reindexing', mailboxId, uid, messagesPerSecond: null, mode: 'fixOutdated' });
    });
  };
}
