import type { FastifyInstance } from 'fastify';
import type { UsersRepository } from '../../users/api/users-repository';
import type { UserService } from '../../users/user-service';
import { parseUsername } from '../../core/address';
import { errorBody } from '../errors';

const putUserSchema = {
  body: {
    type: 'object',
    required: ['password'],
    properties: { password: { type: 'string' } },
  },
} as const;

export function userRoutes(deps: { users: UsersRepository; userService: UserService }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/users', async () => (await deps.users.listUsers()).map((username) => ({ username })));

    app.head<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
      const exists = (await deps.users.getUser(parseUsername(request.params.user))) !== null;
      return reply.status(exists ? 200 : 404).send();
    });

    app.put<{ Params: { user: string }; Body: { password: string } }>('/users/:user', { schema: putUserSchema }, async (request, reply) => {
      await deps.userService.upsertUser(request.params.user, request.body.password);
      return reply.status(204).send();
    });

    app.delete<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
      const username = parseUsername(request.params.user);
      if (!(await deps.users.getUser(username))) return reply.status(404).send(errorBody(404, 'notFound', `User ${username} does not exist`));
      await deps.users.removeUser(username);
      return reply.status(204).send();
    });
  };
}
