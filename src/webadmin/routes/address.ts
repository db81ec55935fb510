import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../core/errors';
import { normalizeAddress } from '../../domains/domain-name';
import { isDomainSource } from '../../rrt/api/mapping';
import { SourceDomainNotManagedError } from '../../rrt/errors';
import type { IdentityServices } from '../../users/identity';

/** James' `/address/groups`, `/address/forwards` and `/address/aliases` routes (recipient rewrite table). */
export function addressRoutes(deps: { identity: IdentityServices }) {
  const { rrt } = deps.identity;
  return async (app: FastifyInstance): Promise<void> => {
    // groups: the group address is virtual (not a user), every member receives the mail.
    app.get('/address/groups', async () => (await rrt.sourcesWithType('Group')).filter((source) => !isDomainSource(source)));

    app.delete('/address/groups', async (_request, reply) => {
      for (const entry of await rrt.listAll()) {
        if (isDomainSource(entry.source)) continue;
        for (const mapping of entry.mappings.filter((m) => m.type === 'Group')) await rrt.removeMapping(entry.source, 'Group', mapping.value);
      }
      return reply.status(204).send();
    });

    app.get<{ Params: { group: string } }>('/address/groups/:group', async (request) => {
      const group = normalizeAddress(request.params.group);
      const members = (await rrt.getStoredMappings(group)).filter((m) => m.type === 'Group').map((m) => m.value);
      if (members.length === 0) throw new NotFoundError(`The group ${group} does not exist`);
      return members;
    });

    app.put<{ Params: { group: string; member: string } }>('/address/groups/:group/:member', async (request, reply) => {
      await rrt.addGroupMapping(normalizeAddress(request.params.group), request.params.member);
      return reply.status(204).send();
    });

    app.delete<{ Params: { group: string; member: string } }>('/address/groups/:group/:member', async (request, reply) => {
      await rrt.removeMapping(normalizeAddress(request.params.group), 'Group', request.params.member);
      return reply.status(204).send();
    });

    // forwards: defined on existing users; listing the source among the destinations keeps a local copy.
    app.get('/address/forwards', async () => (await rrt.sourcesWithType('Forward')).filter((source) => !isDomainSource(source)));

    app.get<{ Params: { user: string } }>('/address/forwards/:user', async (request) => {
      const user = normalizeAddress(request.params.user);
      const targets = (await rrt.getStoredMappings(user)).filter((m) => m.type === 'Forward').map((m) => ({ mailAddress: m.value }));
      if (targets.length === 0) throw new NotFoundError(`The user ${user} has no forwards or does not exist`);
      return targets;
    });

    app.put<{ Params: { user: string; target: string } }>('/address/forwards/:user/targets/:target', async (request, reply) => {
      const user = normalizeAddress(request.params.user);
      if (!(await deps.identity.userExists(user))) throw new NotFoundError(`Requested forward address ${user} does not match an existing user`);
      await rrt.addForwardMapping(user, request.params.target);
      return reply.status(204).send();
    });

    app.delete<{ Params: { user: string; target: string } }>('/address/forwards/:user/targets/:target', async (request, reply) => {
      await rrt.removeMapping(normalizeAddress(request.params.user), 'Forward', request.params.target);
      return reply.status(204).send();
    });

    // aliases: other addresses of an existing user, usable in From.
    app.get('/address/aliases', async () => {
      const users = new Set<string>();
      for (const entry of await rrt.listAll()) for (const m of entry.mappings) if (m.type === 'Alias') users.add(m.value);
      return [...users].sort();
    });

    app.get<{ Params: { user: string } }>('/address/aliases/:user', async (request) =>
      (await rrt.listSources('Alias', normalizeAddress(request.params.user))).map((source) => ({ source })),
    );

    app.put<{ Params: { user: string; alias: string } }>('/address/aliases/:user/sources/:alias', async (request, reply) => {
      const user = normalizeAddress(request.params.user);
      if (!(await deps.identity.domains.contains(user.slice(user.lastIndexOf('@') + 1)))) {
        throw new SourceDomainNotManagedError(`Destination domain of ${user} is not managed by the domainList`);
      }
      await rrt.addAliasMapping(request.params.alias, user);
      return reply.status(204).send();
    });

    app.delete<{ Params: { user: string; alias: string } }>('/address/aliases/:user/sources/:alias', async (request, reply) => {
      await rrt.removeMapping(request.params.alias, 'Alias', request.params.user);
      return reply.status(204).send();
    });
  };
}
