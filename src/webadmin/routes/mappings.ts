import type { FastifyInstance } from 'fastify';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { normalizeAddress, normalizeDomain } from '../../domains/domain-name';
import { isDomainSource, type Mapping, type MappingType } from '../../rrt/api/mapping';
import type { IdentityServices } from '../../users/identity';

/** James' JSON of one mapping: `{"type": "Alias", "mapping": "user@domain.tld"}`. */
function mappingJson(mapping: Mapping): { type: MappingType; mapping: string } {
  return { type: mapping.type, mapping: mapping.value };
}

/** `?type=` of `/mappings/sources` (James: group, forward, address, alias). */
const SOURCE_TYPES: Record<string, MappingType> = { group: 'Group', forward: 'Forward', address: 'Address', alias: 'Alias' };

function sourceType(raw: string | undefined): MappingType {
  const type = SOURCE_TYPES[(raw ?? '').toLowerCase()];
  if (!type) throw new InvalidInputError(`Invalid 'type' parameter: one of ${Object.keys(SOURCE_TYPES).join(', ')} is required`);
  return type;
}

/** James' `/mappings` and `/domainMappings` routes (regex and address mappings, listings). */
export function mappingRoutes(deps: { identity: IdentityServices }) {
  const { rrt } = deps.identity;
  return async (app: FastifyInstance): Promise<void> => {
    // `curl -XPUT … -d destination.tld` sends a form content type: take any such body as plain text.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    app.get('/mappings', async () => {
      const result: Record<string, Array<{ type: MappingType; mapping: string }>> = {};
      for (const entry of await rrt.listAll()) result[entry.source] = entry.mappings.map(mappingJson);
      return result;
    });

    app.get<{ Params: { address: string } }>('/mappings/user/:address', async (request) =>
      (await rrt.getStoredMappings(normalizeAddress(request.params.address))).map(mappingJson),
    );

    app.post<{ Params: { source: string; regex: string } }>('/mappings/regex/:source/targets/:regex', async (request, reply) => {
      await rrt.addRegexMapping(request.params.source, request.params.regex);
      return reply.status(204).send();
    });

    app.delete<{ Params: { source: string; regex: string } }>('/mappings/regex/:source/targets/:regex', async (request, reply) => {
      await rrt.removeMapping(request.params.source, 'Regex', request.params.regex);
      return reply.status(204).send();
    });

    app.post<{ Params: { source: string; target: string } }>('/mappings/address/:source/targets/:target', async (request, reply) => {
      await rrt.addAddressMapping(request.params.source, request.params.target);
      return reply.status(204).send();
    });

    app.delete<{ Params: { source: string; target: string } }>('/mappings/address/:source/targets/:target', async (request, reply) => {
      await rrt.removeMapping(request.params.source, 'Address', request.params.target);
      return reply.status(204).send();
    });

    // Postflow extension: James manages error mappings from its CLI only.
    app.post<{ Params: { source: string; error: string } }>('/mappings/error/:source/targets/:error', async (request, reply) => {
      await rrt.addErrorMapping(request.params.source, request.params.error);
      return reply.status(204).send();
    });

    app.delete<{ Params: { source: string; error: string } }>('/mappings/error/:source/targets/:error', async (request, reply) => {
      await rrt.removeMapping(request.params.source, 'Error', request.params.error);
      return reply.status(204).send();
    });

    app.get<{ Params: { address: string }; Querystring: { type?: string } }>('/mappings/sources/:address', async (request) =>
      rrt.listSources(sourceType(request.query.type), normalizeAddress(request.params.address)),
    );

    app.delete<{ Params: { address: string }; Querystring: { type?: string } }>('/mappings/sources/:address', async (request, reply) => {
      const type = sourceType(request.query.type);
      const target = normalizeAddress(request.params.address);
      for (const source of await rrt.listSources(type, target)) await rrt.removeMapping(source, type, target);
      return reply.status(204).send();
    });

    // domain mappings: `{"source.org": ["destination.com", …]}`
    app.get('/domainMappings', async () => {
      const result: Record<string, string[]> = {};
      for (const entry of await rrt.listAll()) {
        if (!isDomainSource(entry.source)) continue;
        const targets = entry.mappings.filter((m) => m.type === 'Domain').map((m) => m.value);
        if (targets.length > 0) result[entry.source] = targets;
      }
      return result;
    });

    app.get<{ Params: { from: string } }>('/domainMappings/:from', async (request) => {
      const from = normalizeDomain(request.params.from);
      const targets = (await rrt.getStoredMappings(from)).filter((m) => m.type === 'Domain').map((m) => m.value);
      if (targets.length === 0) throw new NotFoundError(`Cannot find mappings for ${from}`);
      return targets;
    });

    app.put<{ Params: { from: string }; Body: unknown }>('/domainMappings/:from', async (request, reply) => {
      await rrt.addDomainMapping(request.params.from, bodyDomain(request.body));
      return reply.status(204).send();
    });

    app.delete<{ Params: { from: string }; Body: unknown }>('/domainMappings/:from', async (request, reply) => {
      await rrt.removeMapping(request.params.from, 'Domain', bodyDomain(request.body));
      return reply.status(204).send();
    });
  };
}

/** The destination domain, sent as the raw body (James), or as a JSON string. */
function bodyDomain(body: unknown): string {
  if (typeof body !== 'string' || body.trim().length === 0) throw new InvalidInputError('The body must be the destination domain');
  return normalizeDomain(body.trim());
}
