import type { FastifyInstance } from 'fastify';
import type { IdentityServices } from '../../users/identity';
import { errorBody } from '../errors';

/** James' `/domains` routes, domain aliases included. */
export function domainRoutes(deps: { identity: IdentityServices }) {
  const domains = deps.identity.domains;
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/domains', async () => domains.list());

    app.get<{ Params: { domain: string } }>('/domains/:domain', async (request, reply) => {
      if (!(await domains.contains(request.params.domain))) {
        return reply.status(404).send(errorBody(404, 'notFound', `The domain list does not contain: ${request.params.domain}`));
      }
      return reply.status(204).send();
    });

    app.put<{ Params: { domain: string } }>('/domains/:domain', async (request, reply) => {
      await domains.add(request.params.domain);
      return reply.status(204).send();
    });

    app.delete<{ Params: { domain: string } }>('/domains/:domain', async (request, reply) => {
      await domains.remove(request.params.domain);
      return reply.status(204).send();
    });

    app.get<{ Params: { domain: string } }>('/domains/:domain/aliases', async (request) =>
      (await domains.aliases(request.params.domain)).map((source) => ({ source })),
    );

    app.put<{ Params: { domain: string; source: string } }>('/domains/:domain/aliases/:source', async (request, reply) => {
      await domains.addAlias(request.params.domain, request.params.source);
      return reply.status(204).send();
    });

    app.delete<{ Params: { domain: string; source: string } }>('/domains/:domain/aliases/:source', async (request, reply) => {
      await domains.removeAlias(request.params.domain, request.params.source);
      return reply.status(204).send();
    });
  };
}
