import type { FastifyError, FastifyInstance } from 'fastify';
import { AlreadyExistsError, InvalidInputError, NotFoundError, PermanentError } from '../core/errors';

/** James' WebAdmin error body. */
export interface ErrorResponse {
  statusCode: number;
  type: 'InvalidArgument' | 'notFound' | 'WrongState' | 'ServerError';
  message: string;
  details: string | null;
}

export function errorBody(statusCode: number, type: ErrorResponse['type'], message: string, details: string | null = null): ErrorResponse {
  return { statusCode, type, message, details };
}

/** One error handler: domain errors map to 4xx, anything else is a 500 that hides internals. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof InvalidInputError) return reply.status(400).send(errorBody(400, 'InvalidArgument', err.message));
    if (err instanceof NotFoundError) return reply.status(404).send(errorBody(404, 'notFound', err.message));
    if (err instanceof AlreadyExistsError) return reply.status(409).send(errorBody(409, 'WrongState', err.message));
    if (err instanceof PermanentError) return reply.status(400).send(errorBody(400, 'InvalidArgument', err.message));
    if (err.validation || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      const status = err.statusCode ?? 400;
      return reply.status(status).send(errorBody(status, 'InvalidArgument', 'Invalid request', err.message));
    }
    request.log.error({ err }, 'webadmin request failed');
    return reply.status(500).send(errorBody(500, 'ServerError', 'Internal server error'));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody(404, 'notFound', `${request.method} ${request.url} can not be found`));
  });
}
