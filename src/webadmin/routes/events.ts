import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { EventBus } from '../../events/api/event-bus';
import { GROUP_NAME, INSERTION_ID, type EventDeadLetters } from '../../events/api/event-dead-letters';
import { redeliverDeadLetters, type RedeliveryResult, type RedeliveryScope } from '../../events/dead-letter-redelivery';
import { errorBody } from '../errors';

/**
 * Starts a redelivery and returns its task id. Postflow nodes pass one that submits the
 * `redeliverEventDeadLetters` task workflow (visible under `/tasks`, cancellable, survives a
 * restart); without one (route tests on a bare WebAdmin) it runs as a background promise.
 */
export type TaskStarter = (type: string, scope: RedeliveryScope) => Promise<string>;

/** The redelivery task on the task manager: a `redeliverEventDeadLetters` workflow. */
export function taskManagerStarter(tasks: { submit(type: string, workflowType: string, input: unknown): Promise<string> }): TaskStarter {
  return (type, scope) => tasks.submit(type, 'redeliverEventDeadLetters', { type, ...scope });
}

export interface EventRoutesDeps {
  eventBus: EventBus;
  deadLetters: EventDeadLetters;
  logger: Logger;
  startTask?: TaskStarter;
}

const ACTION = 'reDeliver';

/** James' `/events/deadLetter` routes: browse, delete and redeliver the dead letters of group listeners. */
export function eventRoutes(deps: EventRoutesDeps) {
  const redeliver: TaskStarter = deps.startTask ?? backgroundTask({ bus: deps.eventBus, deadLetters: deps.deadLetters, logger: deps.logger });

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/events/deadLetter/groups', async () => deps.deadLetters.listGroups());

    app.get<{ Params: { group: string } }>('/events/deadLetter/groups/:group', async (request, reply) => {
      const { group } = request.params;
      if (!GROUP_NAME.test(group)) return invalidGroup(reply, group);
      return deps.deadLetters.listInsertionIds(group);
    });

    app.get<{ Params: { group: string; insertionId: string } }>('/events/deadLetter/groups/:group/:insertionId', async (request, reply) => {
      const { group, insertionId } = request.params;
      if (!GROUP_NAME.test(group)) return invalidGroup(reply, group);
      if (!INSERTION_ID.test(insertionId)) return invalidInsertionId(reply, insertionId);
      const text = await deps.deadLetters.get(group, insertionId);
      if (text === null) return reply.status(404).send(errorBody(404, 'notFound', `No event with insertionId ${insertionId} in group ${group}`));
      return reply.type('application/json').send(asJson(text));
    });

    app.delete<{ Params: { group: string; insertionId: string } }>('/events/deadLetter/groups/:group/:insertionId', async (request, reply) => {
      const { group, insertionId } = request.params;
      if (!GROUP_NAME.test(group)) return invalidGroup(reply, group);
      if (!INSERTION_ID.test(insertionId)) return invalidInsertionId(reply, insertionId);
      await deps.deadLetters.remove(group, insertionId);
      return reply.status(204).send();
    });

    app.post<{ Querystring: { action?: string } }>('/events/deadLetter', async (request, reply) => {
      if (!validAction(reply, request.query.action)) return reply;
      return created(reply, await redeliver('event-dead-letters-redeliver-all', {}));
    });

    app.post<{ Params: { group: string }; Querystring: { action?: string } }>('/events/deadLetter/groups/:group', async (request, reply) => {
      const { group } = request.params;
      if (!GROUP_NAME.test(group)) return invalidGroup(reply, group);
      if (!validAction(reply, request.query.action)) return reply;
      return created(reply, await redeliver('event-dead-letters-redeliver-group', { group }));
    });

    app.post<{ Params: { group: string; insertionId: string }; Querystring: { action?: string } }>(
      '/events/deadLetter/groups/:group/:insertionId',
      async (request, reply) => {
        const { group, insertionId } = request.params;
        if (!GROUP_NAME.test(group)) return invalidGroup(reply, group);
        if (!INSERTION_ID.test(insertionId)) return invalidInsertionId(reply, insertionId);
        if (!validAction(reply, request.query.action)) return reply;
        if ((await deps.deadLetters.get(group, insertionId)) === null) {
          return reply.status(404).send(errorBody(404, 'notFound', `No event with insertionId ${insertionId} in group ${group}`));
        }
        return created(reply, await redeliver('event-dead-letters-redeliver-one', { group, insertionId }));
      },
    );
  };
}

function created(reply: FastifyReply, taskId: string) {
  return reply.status(201).header('location', `/tasks/${taskId}`).send({ taskId });
}

function validAction(reply: FastifyReply, action: string | undefined): boolean {
  if (action === ACTION) return true;
  const message = action === undefined ? `'action' query parameter is compulsory. Supported values are [${ACTION}]` : `'${action}' is not a valid action query parameter`;
  reply.status(400).send(errorBody(400, 'InvalidArgument', 'Invalid arguments supplied in the user request', message));
  return false;
}

function invalidGroup(reply: FastifyReply, group: string) {
  return reply.status(400).send(errorBody(400, 'InvalidArgument', 'Can not deserialize the supplied group', `${JSON.stringify(group)} is not a group name ([A-Za-z0-9._-], at most 100 characters)`));
}

function invalidInsertionId(reply: FastifyReply, insertionId: string) {
  return reply.status(400).send(errorBody(400, 'InvalidArgument', 'Can not deserialize the supplied insertionId', `${JSON.stringify(insertionId)} is not a UUID`));
}

/** The stored event as JSON; an event that is not JSON (a poison message) is shown as a JSON string. */
function asJson(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}

/** See TaskStarter: a background promise with a generated task id, logged when it ends. */
export function backgroundTask(deps: { bus: EventBus; deadLetters: EventDeadLetters; logger: Logger }): TaskStarter {
  return async (type, scope) => {
    const taskId = randomUUID();
    redeliverDeadLetters(deps, scope).then(
      (result: RedeliveryResult) => deps.logger.info({ taskId, type, ...result }, 'task completed'),
      (err: unknown) => deps.logger.error({ taskId, type, err }, 'task failed'),
    );
    return taskId;
  };
}
