import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../core/errors';
import type { MailQueueAdmin, QueueFilter } from '../../queue/mail-queue-admin';
import type { TaskManager } from '../../tasks/task-manager';

/** Largest `limit` of a browse. */
export const MAX_BROWSE_LIMIT = 1_000;

const flushSchema = {
  body: { type: 'object', required: ['delayed'], properties: { delayed: { type: 'boolean', const: false } }, additionalProperties: false },
} as const;

/** James' `/mailQueues` routes over the Temporal-backed queues (`spool`, `outgoing`). */
export function mailQueueRoutes(deps: { mailQueues: MailQueueAdmin; tasks: TaskManager }) {
  return async (app: FastifyInstance): Promise<void> => {
    const { mailQueues, tasks } = deps;

    app.get('/mailQueues', async () => mailQueues.queues());

    app.get<{ Params: { name: string } }>('/mailQueues/:name', async (request) => {
      mailQueues.assertQueue(request.params.name);
      return { name: request.params.name, size: await mailQueues.size(request.params.name) };
    });

    app.get<{ Params: { name: string }; Querystring: { delayed?: string; limit?: string } }>('/mailQueues/:name/mails', async (request) => {
      mailQueues.assertQueue(request.params.name);
      const { delayed, limit } = request.query;
      if (delayed !== undefined && delayed !== 'true' && delayed !== 'false') throw new InvalidInputError('delayed must be true or false');
      const n = limit === undefined ? MAX_BROWSE_LIMIT : Number(limit);
      if (!Number.isInteger(n) || n < 1 || n > MAX_BROWSE_LIMIT) throw new InvalidInputError(`limit must be an integer between 1 and ${MAX_BROWSE_LIMIT}`);
      const mails = await mailQueues.browse(request.params.name, { delayed: delayed === 'true' }, n);
      return mails.map(({ name, sender, recipients, nextDelivery }) => ({ name, sender, recipients, nextDelivery }));
    });

    app.delete<{ Params: { name: string }; Querystring: { sender?: string; recipient?: string; name?: string } }>('/mailQueues/:name/mails', async (request, reply) => {
      mailQueues.assertQueue(request.params.name);
      const { sender, recipient, name } = request.query;
      const given = [sender, recipient, name].filter((v) => v !== undefined);
      if (given.length > 1) throw new InvalidInputError('You should provide only one of the query parameters sender, name, recipient');
      const filter: QueueFilter = {};
      if (sender !== undefined) filter.sender = sender;
      if (recipient !== undefined) filter.recipient = recipient;
      if (name !== undefined) filter.name = name;
      const type = given.length === 0 ? 'clear-mail-queue' : 'delete-mails-from-mail-queue';
      const taskId = await tasks.submit(type, 'deleteQueuedMails', { mailQueueName: request.params.name, ...filter });
      return reply.status(201).header('location', `/tasks/${taskId}`).send({ taskId });
    });

    // James' flush: releases delayed mails now (their durable timer is cut short by a signal).
    app.patch<{ Params: { name: string }; Querystring: { delayed?: string } }>('/mailQueues/:name/mails', { schema: flushSchema }, async (request, reply) => {
      mailQueues.assertQueue(request.params.name);
      if (request.query.delayed !== 'true') throw new InvalidInputError('Only ?delayed=true with {"delayed": false} is supported (flush)');
      await mailQueues.flush(request.params.name);
      return reply.status(204).send();
    });
  };
}
