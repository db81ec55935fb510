import type { FastifyInstance, FastifyReply } from 'fastify';
import { MAIL_BUCKET, type BlobStore } from '../../blob/api';
import { InvalidInputError } from '../../core/errors';
import {
  ADDRESS_ERROR_REPOSITORY,
  ERROR_REPOSITORY,
  RELAY_DENIED_REPOSITORY,
  RRT_ERROR_REPOSITORY,
  type MailRepositoryStore,
} from '../../mailrepository/api/mail-repository-store';
import { normalizeRepositoryPath } from '../../mailet/catalogue/params';
import type { TaskManager } from '../../tasks/task-manager';
import { errorBody } from '../errors';

/** James' default page of `GET …/mails`. */
export const DEFAULT_PAGE_LIMIT = 100;
/** The repositories of the default configuration exist even while empty. */
export const DEFAULT_REPOSITORIES = [ERROR_REPOSITORY, ADDRESS_ERROR_REPOSITORY, RELAY_DENIED_REPOSITORY, RRT_ERROR_REPOSITORY];

export interface MailRepositoryRoutesDeps {
  mailRepositories: MailRepositoryStore;
  tasks?: TaskManager;
  messages?: BlobStore;
  processors?: string[];
}

function pageParam(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidInputError(`Can not parse ${name}: ${JSON.stringify(value)} (a non-negative integer)`);
  return n;
}

/** James' `/mailRepositories` routes; the repository path is URL-encoded (`var%2Fmail%2Ferror%2F`). */
export function mailRepositoryRoutes(deps: MailRepositoryRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const known = async (path: string) => DEFAULT_REPOSITORIES.includes(path) || (await deps.mailRepositories.listRepositories()).includes(path);
    const requireRepository = async (raw: string, reply: FastifyReply): Promise<string | null> => {
      const path = normalizeRepositoryPath(raw);
      if (await known(path)) return path;
      await reply.status(404).send(errorBody(404, 'notFound', `The repository '${raw}' (decoded value: '${path}') does not exist`));
      return null;
    };
    const taskCreated = (reply: FastifyReply, taskId: string) => reply.status(201).header('location', `/tasks/${taskId}`).send({ taskId });
    const requireTasks = (): TaskManager => {
      if (!deps.tasks) throw new InvalidInputError('Tasks are not available on this node');
      return deps.tasks;
    };
    const reprocessParams = (query: { action?: string; processor?: string; queue?: string }) => {
      if (query.action !== 'reprocess') throw new InvalidInputError(`Invalid action ${JSON.stringify(query.action ?? null)}: only "reprocess" is supported`);
      const processor = query.processor ?? null;
      if (processor !== null && deps.processors && !deps.processors.includes(processor)) throw new InvalidInputError(`Unknown processor ${processor} (one of ${deps.processors.join(', ')})`);
      const queue = query.queue ?? 'spool';
      if (queue !== 'spool') throw new InvalidInputError(`Unknown queue ${queue}: reprocessed mails go to the spool`);
      return { targetProcessor: processor, targetQueue: queue };
    };

    app.get('/mailRepositories', async () => {
      const paths = [...new Set([...DEFAULT_REPOSITORIES, ...(await deps.mailRepositories.listRepositories())])].sort();
      return paths.map((repository) => ({ repository, path: encodeURIComponent(repository) }));
    });

    // Repositories are created on first use; PUT exists for James scripts and succeeds.
    app.put<{ Params: { path: string } }>('/mailRepositories/:path', async (_request, reply) => reply.status(204).send());

    app.get<{ Params: { path: string } }>('/mailRepositories/:path', async (request, reply) => {
      const path = await requireRepository(request.params.path, reply);
      if (path === null) return reply;
      return { repository: path, path: encodeURIComponent(path), size: await deps.mailRepositories.size(path) };
    });

    app.get<{ Params: { path: string }; Querystring: { offset?: string; limit?: string } }>('/mailRepositories/:path/mails', async (request, reply) => {
      const offset = pageParam(request.query.offset, 'offset', 0);
      const limit = pageParam(request.query.limit, 'limit', DEFAULT_PAGE_LIMIT);
      if (limit === 0) throw new InvalidInputError('limit must be at least 1');
      const path = await requireRepository(request.params.path, reply);
      if (path === null) return reply;
      return deps.mailRepositories.listKeys(path, { offset, limit });
    });

    app.get<{ Params: { path: string; key: string } }>('/mailRepositories/:path/mails/:key', async (request, reply) => {
      const path = normalizeRepositoryPath(request.params.path);
      const stored = await deps.mailRepositories.get(path, request.params.key);
      if (!stored) return reply.status(404).send(errorBody(404, 'notFound', `Could not retrieve ${request.params.key}`));
      const { mail } = stored;
      if ((request.headers.accept ?? '').includes('message/rfc822')) {
        if (!deps.messages) throw new InvalidInputError('Message download is not available on this node');
        const bytes = await deps.messages.readBytes(MAIL_BUCKET, mail.messageBlobId);
        return reply
          .status(200)
          .header('content-type', 'message/rfc822')
          .header('content-disposition', `attachment; filename="${encodeURIComponent(stored.key)}.eml"`)
          .send(bytes);
      }
      return {
        name: mail.name,
        sender: mail.sender,
        recipients: mail.recipients,
        state: mail.state,
        error: mail.errorMessage,
        remoteAddr: mail.remoteAddr,
        remoteHost: mail.remoteHost,
        lastUpdated: stored.storedAt.toISOString(),
        attributes: mail.attributes,
        messageSize: mail.size,
      };
    });

    app.delete<{ Params: { path: string; key: string } }>('/mailRepositories/:path/mails/:key', async (request, reply) => {
      await deps.mailRepositories.remove(normalizeRepositoryPath(request.params.path), request.params.key);
      return reply.status(204).send();
    });

    app.delete<{ Params: { path: string } }>('/mailRepositories/:path/mails', async (request, reply) => {
      const tasks = requireTasks();
      const path = await requireRepository(request.params.path, reply);
      if (path === null) return reply;
      return taskCreated(reply, await tasks.submit('clear-mail-repository', 'clearMailRepository', { repositoryPath: path }));
    });

    app.patch<{ Params: { path: string }; Querystring: { action?: string; processor?: string; queue?: string } }>('/mailRepositories/:path/mails', async (request, reply) => {
      const tasks = requireTasks();
      const target = reprocessParams(request.query);
      const path = await requireRepository(request.params.path, reply);
      if (path === null) return reply;
      return taskCreated(reply, await tasks.submit('reprocessing-all', 'reprocessMailRepository', { repositoryPath: path, ...target }));
    });

    app.patch<{ Params: { path: string; key: string }; Querystring: { action?: string; processor?: string; queue?: string } }>(
      '/mailRepositories/:path/mails/:key',
      async (request, reply) => {
        const tasks = requireTasks();
        const target = reprocessParams(request.query);
        const path = normalizeRepositoryPath(request.params.path);
        if (!(await deps.mailRepositories.get(path, request.params.key))) return reply.status(404).send(errorBody(404, 'notFound', `Could not retrieve ${request.params.key}`));
        return taskCreated(reply, await tasks.submit('reprocessing-one', 'reprocessMailRepository', { repositoryPath: path, ...target, key: request.params.key }));
      },
    );
  };
}
