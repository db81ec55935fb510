import type { FastifyInstance } from 'fastify';
import { parseDomain } from '../../core/address';
import type { DomainList } from '../../domains/api/domain-list';
import type { UsersRepository } from '../../users/api/users-repository';
import { errorBody } from '../errors';

export function domainRoutes(deps: { domains: DomainList; users: UsersRepository }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/domains', async () => deps.domains.listDomains());

    app.get<{ Params: { domain: string } }>('/domains/:domain', async (request, reply) => {
      const domain = parseDomain(request.params.domain);
      if (!(await deps.domains.containsDomain(domain))) return reply.status(404).send(errorBody(404, 'notFound', `The domain list does not contain: ${domain}`));
      return reply.status(204).send();
    });

    app.put<{ Params: { domain: string } }>('/domains/:domain', async (request, reply) => {
      await deps.domains.addDomain(parseDomain(request.params.domain));
      return reply.status(204).send();
    });

    app.delete<{ Params: { domain: string } }>('/domains/:domain', async (request, reply) => {
      const domain = parseDomain(request.params.domain);
      const users = await deps.users.listUsers();
      if (users.some((u) => u.endsWith(`@${domain}`))) {
        return reply.status(400).send(errorBody(400, 'InvalidArgument', `Domain ${domain} still has users; remove them first`));
      }
      await deps.domains.removeDomain(domain);
      return reply.status(204).send();
    });
  };
}
