import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { DomainList } from '../domains/api/domain-list';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';
import type { HealthCheck } from '../storage/backends';
import type { UsersRepository } from '../users/api/users-repository';
import type { UserService } from '../users/user-service';
import { registerErrorHandling } from './errors';
import { domainRoutes } from './routes/domains';
import { healthRoutes } from './routes/healthcheck';
import { mailRepositoryRoutes } from './routes/mail-repositories';
import { userRoutes } from './routes/users';

export interface WebAdminDeps {
  domains: DomainList;
  users: UsersRepository;
  userService: UserService;
  mailRepositories: MailRepositoryStore;
  checks: () => Promise<HealthCheck[]>;
  logger: Logger;
}

/** Largest WebAdmin request body: admin JSON is small; this bounds what a bad client can send. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** WebAdmin: James-compatible REST routes, one fastify plugin per resource. */
export function createWebAdmin(deps: WebAdminDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: MAX_BODY_BYTES });
  registerErrorHandling(app);
  app.register(healthRoutes(deps));
  app.register(domainRoutes(deps));
  app.register(userRoutes(deps));
  app.register(mailRepositoryRoutes(deps));
  return app;
}
