import type { FastifyInstance } from 'fastify';
import type { MailRepositoryStore } from '../../mailrepository/api/mail-repository-store';
import { errorBody } from '../errors';

/** James' `/mailRepositories` read routes; the repository path is URL-encoded (`var%2Fmail%2Ferror%2F`). */
export function mailRepositoryRoutes(deps: { mailRepositories: MailRepositoryStore }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/mailRepositories', async () =>
      (await deps.mailRepositories.listRepositories()).map((repository) => ({ repository, path: encodeURIComponent(repository) })),
    );

    app.get<{ Params: { path: string } }>('/mailRepositories/:path', async (request) => ({
      repository: request.params.path,
      path: encodeURIComponent(request.params.path),
      size: await deps.mailRepositories.size(request.params.path),
    }));

    app.get<{ Params: { path: string } }>('/mailRepositories/:path/mails', async (request) => deps.mailRepositories.listKeys(request.params.path));

    app.get<{ Params: { path: string; key: string } }>('/mailRepositories/:path/mails/:key', async (request, reply) => {
      const stored = await deps.mailRepositories.get(request.params.path, request.params.key);
      if (!stored) return reply.status(404).send(errorBody(404, 'notFound', `Could not retrieve ${request.params.key}`));
      const { mail } = stored;
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
  };
}
