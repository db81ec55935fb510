import type { FastifyInstance } from 'fastify';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { normalizeAddress } from '../../domains/domain-name';
import type { IdentityServices } from '../../users/identity';
import type { Vacation } from '../../vacation/api/vacation-store';
import type { VacationPatch, VacationService } from '../../vacation/vacation-service';

const FIELDS: (keyof Vacation)[] = ['enabled', 'fromDate', 'toDate', 'subject', 'textBody', 'htmlBody'];

/** James' `/vacation/{user}` routes: read, patch (absent or null fields kept) and reset a vacation notice. */
export function vacationRoutes(deps: { identity: IdentityServices; vacation: VacationService }) {
  const existingUser = async (raw: string): Promise<string> => {
    const user = normalizeAddress(raw);
    if (!(await deps.identity.userExists(user))) throw new NotFoundError(`The user '${user}' does not exist`);
    return user;
  };
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { user: string } }>('/vacation/:user', async (request) => deps.vacation.get(await existingUser(request.params.user)));

    app.post<{ Params: { user: string }; Body: unknown }>('/vacation/:user', async (request, reply) => {
      const user = await existingUser(request.params.user);
      await deps.vacation.modify(user, parsePatch(request.body));
      return reply.status(204).send();
    });

    app.delete<{ Params: { user: string } }>('/vacation/:user', async (request, reply) => {
      await deps.vacation.reset(await existingUser(request.params.user));
      return reply.status(204).send();
    });
  };
}

function parsePatch(body: unknown): VacationPatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('The body must be a JSON object');
  const unknown = Object.keys(body).filter((key) => !(FIELDS as string[]).includes(key));
  if (unknown.length > 0) throw new InvalidInputError(`Unknown vacation field(s): ${unknown.join(', ')} (known: ${FIELDS.join(', ')})`);
  const patch = body as Record<string, unknown>;
  if (patch.enabled !== undefined && patch.enabled !== null && typeof patch.enabled !== 'boolean') throw new InvalidInputError('"enabled" must be a boolean');
  for (const key of FIELDS.filter((k) => k !== 'enabled')) {
    const value = patch[key];
    if (value !== undefined && value !== null && typeof value !== 'string') throw new InvalidInputError(`"${key}" must be a string`);
  }
  return patch as VacationPatch;
}
