import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../core/errors';
import type { TaskManager } from '../../tasks/task-manager';
import { errorBody } from '../errors';

/** James' default `/await` timeout is a year; we bound a request to this. */
export const MAX_AWAIT_MS = 365 * 24 * 3600 * 1000;

const UNITS: Record<string, number> = { '': 1000, ms: 1, s: 1000, second: 1000, seconds: 1000, m: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hour: 3_600_000, hours: 3_600_000, d: 86_400_000, day: 86_400_000, days: 86_400_000, y: 365 * 86_400_000, year: 365 * 86_400_000, years: 365 * 86_400_000 };

/** James durations: `30`, `30s`, `5m`, `1y`… (no unit: seconds). */
export function parseAwaitTimeout(raw: string | undefined): number {
  if (raw === undefined) return MAX_AWAIT_MS;
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(raw);
  if (!m || !(m[2].toLowerCase() in UNITS)) throw new InvalidInputError(`Invalid timeout ${JSON.stringify(raw)} (e.g. 30s, 5m, 1y)`);
  const ms = Number(m[1]) * UNITS[m[2].toLowerCase()];
  if (ms > MAX_AWAIT_MS) throw new InvalidInputError('Timeout should not exceed one year');
  return ms;
}

/** James' `/tasks` routes over task workflows. */
export function taskRoutes(deps: { tasks: TaskManager }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { status?: string } }>('/tasks', async (request) => deps.tasks.list(request.query.status));

    app.get<{ Params: { id: string } }>('/tasks/:id', async (request) => deps.tasks.get(request.params.id));

    app.get<{ Params: { id: string }; Querystring: { timeout?: string } }>('/tasks/:id/await', async (request, reply) => {
      const timeout = parseAwaitTimeout(request.query.timeout);
      const { task, ended } = await deps.tasks.await(request.params.id, timeout);
      if (!ended) return reply.status(408).send(errorBody(408 as 400, 'ServerError', 'The timeout has been reached'));
      return task;
    });

    app.delete<{ Params: { id: string } }>('/tasks/:id', async (request, reply) => {
      await deps.tasks.cancel(request.params.id);
      return reply.status(204).send();
    });
  };
}
