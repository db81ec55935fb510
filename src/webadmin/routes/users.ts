import type { FastifyInstance, FastifyReply } from 'fastify';
import { InvalidInputError } from '../../core/errors';
import { normalizeAddress } from '../../domains/domain-name';
import type { TaskManager } from '../../tasks/task-manager';
import { ReadOnlyDirectoryError } from '../../users/errors';
import type { IdentityServices } from '../../users/identity';
import { DELETE_USER_DATA_STEPS, USERNAME_CHANGE_STEPS } from '../../users/username-change';
import { errorBody } from '../errors';

const passwordBody = {
  body: {
    type: 'object',
    required: ['password'],
    properties: { password: { type: 'string' } },
  },
} as const;

/** The users directory is read-only (LDAP): 409, as for any other state conflict. */
async function readOnlyAware(reply: FastifyReply, work: () => Promise<void>): Promise<FastifyReply> {
  try {
    await work();
  } catch (err) {
    if (err instanceof ReadOnlyDirectoryError) return reply.status(409).send(errorBody(409, 'WrongState', err.message));
    throw err;
  }
  return reply.status(204).send();
}

function requireTasks(tasks: TaskManager | undefined): TaskManager {
  if (!tasks) throw new InvalidInputError('Tasks are not available on this node (no Temporal worker configured)');
  return tasks;
}

function checkedStep(fromStep: string | undefined, steps: readonly string[]): string | null {
  if (fromStep === undefined) return null;
  if (!steps.includes(fromStep)) throw new InvalidInputError(`Starting step not found: ${fromStep} (one of ${steps.join(', ')})`);
  return fromStep;
}

/** James' `/users` routes, delegation (`authorizedUsers`) and allowed From addresses included. */
export function userRoutes(deps: { identity: IdentityServices; tasks?: TaskManager }) {
  const users = deps.identity.users;
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/users', async () => (await users.list()).map((username) => ({ username })));

    app.head<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
      const username = normalizeAddress(request.params.user);
      return reply.status((await deps.identity.userExists(username)) ? 200 : 404).send();
    });

    // `?force` changes the password of an existing user; without it an existing user is a 409 (James).
    app.put<{ Params: { user: string }; Body: { password: string }; Querystring: { force?: string } }>(
      '/users/:user',
      { schema: passwordBody },
      async (request, reply) =>
        readOnlyAware(reply, async () => {
          await users.create(request.params.user, request.body.password, { force: request.query.force !== undefined });
        }),
    );

    // James answers 204 for a user that does not exist too (the outcome, no such user, is reached).
    app.delete<{ Params: { user: string } }>('/users/:user', async (request, reply) =>
      readOnlyAware(reply, async () => {
        if (await deps.identity.userExists(normalizeAddress(request.params.user))) await users.remove(request.params.user);
      }),
    );

    // James' UsernameChangeTask: the new user must exist (created beforehand); `force` skips the old user's existence check.
    app.post<{ Params: { oldUser: string; newUser: string }; Querystring: { action?: string; force?: string; fromStep?: string } }>(
      '/users/:oldUser/rename/:newUser',
      async (request, reply) => {
        const tasks = requireTasks(deps.tasks);
        if (request.query.action !== 'rename') throw new InvalidInputError(`Invalid action ${JSON.stringify(request.query.action ?? null)}: supported action is rename`);
        const oldUser = normalizeAddress(request.params.oldUser);
        const newUser = normalizeAddress(request.params.newUser);
        if (oldUser === newUser) throw new InvalidInputError("'oldUser' and 'newUser' must differ");
        if (request.query.force === undefined && !(await deps.identity.userExists(oldUser))) throw new InvalidInputError("'oldUser' parameter should be an existing user");
        if (!(await deps.identity.userExists(newUser))) throw new InvalidInputError("'newUser' parameter should be an existing user");
        const fromStep = checkedStep(request.query.fromStep, USERNAME_CHANGE_STEPS);
        const taskId = await tasks.submit('UsernameChangeTask', 'changeUsername', { oldUser, newUser, steps: [...USERNAME_CHANGE_STEPS], fromStep });
        return reply.status(201).header('location', `/tasks/${taskId}`).send({ taskId });
      },
    );

    // James' DeleteUserDataTask (`POST /users/{u}?action=deleteData`): the account itself stays.
    app.post<{ Params: { user: string }; Querystring: { action?: string; fromStep?: string } }>('/users/:user', async (request, reply) => {
      const tasks = requireTasks(deps.tasks);
      if (request.query.action !== 'deleteData') throw new InvalidInputError(`Invalid action ${JSON.stringify(request.query.action ?? null)}: supported action is deleteData`);
      const username = normalizeAddress(request.params.user);
      if (!(await deps.identity.userExists(username))) throw new InvalidInputError("'username' parameter should be an existing user");
      const fromStep = checkedStep(request.query.fromStep, DELETE_USER_DATA_STEPS);
      const taskId = await tasks.submit('DeleteUserDataTask', 'deleteUserData', { username, steps: [...DELETE_USER_DATA_STEPS], fromStep });
      return reply.status(201).header('location', `/tasks/${taskId}`).send({ taskId });
    });

    // Unknown users and wrong passwords both answer 401: no user name oracle.
    app.post<{ Params: { user: string }; Body: { password: string } }>('/users/:user/verify', { schema: passwordBody }, async (request, reply) => {
      const ok = await users.verifyPassword(request.params.user, request.body.password);
      return ok ? reply.status(204).send() : reply.status(401).send(errorBody(401, 'InvalidArgument', 'Wrong password or user does not exist'));
    });

    app.get<{ Params: { user: string } }>('/users/:user/allowedFromHeaders', async (request, reply) => {
      const username = normalizeAddress(request.params.user);
      if (!(await deps.identity.userExists(username))) return reply.status(404).send(errorBody(404, 'notFound', `User ${username} does not exist`));
      return deps.identity.senders.allowedFromAddresses(username);
    });

    app.get<{ Params: { user: string } }>('/users/:user/authorizedUsers', async (request) => users.authorizedUsers(request.params.user));

    app.put<{ Params: { user: string; delegated: string } }>('/users/:user/authorizedUsers/:delegated', async (request, reply) => {
      await users.addAuthorizedUser(request.params.user, request.params.delegated);
      return reply.status(200).send();
    });

    app.delete<{ Params: { user: string; delegated: string } }>('/users/:user/authorizedUsers/:delegated', async (request, reply) => {
      await users.removeAuthorizedUser(request.params.user, request.params.delegated);
      return reply.status(200).send();
    });

    app.delete<{ Params: { user: string } }>('/users/:user/authorizedUsers', async (request, reply) => {
      await users.clearAuthorizedUsers(request.params.user);
      return reply.status(200).send();
    });

    // Postflow extension (James has no WebAdmin route for it): disabled accounts keep receiving mail but cannot log in.
    app.get<{ Params: { user: string } }>('/users/:user/disabled', async (request) => ({ disabled: await users.isDisabled(request.params.user) }));

    app.put<{ Params: { user: string } }>('/users/:user/disabled', async (request, reply) =>
      readOnlyAware(reply, async () => {
        await users.setDisabled(request.params.user, true);
      }),
    );

    app.delete<{ Params: { user: string } }>('/users/:user/disabled', async (request, reply) =>
      readOnlyAware(reply, async () => {
        await users.setDisabled(request.params.user, false);
      }),
    );
  };
}
