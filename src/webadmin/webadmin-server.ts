import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';
import type { HealthCheck } from '../storage/backends';
import type { IdentityServices } from '../users/identity';
import { registerErrorHandling } from './errors';
import { addressRoutes } from './routes/address';
import { blobRoutes, type BlobRoutesDeps } from './routes/blobs';
import { domainRoutes } from './routes/domains';
import { eventRoutes, type EventRoutesDeps } from './routes/events';
import { healthRoutes } from './routes/healthcheck';
import { mailRepositoryRoutes } from './routes/mail-repositories';
import { mailQueueRoutes } from './routes/mail-queues';
import { taskRoutes } from './routes/tasks';
import { reindexRoutes } from './routes/reindex';
import type { MailboxManager } from '../mailbox/api/mailbox-manager';
import type { MailQueueAdmin } from '../queue/mail-queue-admin';
import type { TaskManager } from '../tasks/task-manager';
import type { BlobStore } from '../blob/api';
import { mappingRoutes } from './routes/mappings';
import { userRoutes } from './routes/users';
import { vacationRoutes } from './routes/vacation';
import type { VacationService } from '../vacation/vacation-service';
import { quotaRoutes, type QuotaRoutesDeps } from './routes/quota';

export interface WebAdminDeps {
  /** Users, domains, recipient rewriting, delegation (`/domains`, `/users`, `/address`, `/mappings`, `/domainMappings`). */
  identity: IdentityServices;
  mailRepositories: MailRepositoryStore;
  checks: () => Promise<HealthCheck[]>;
  /** `/events/deadLetter` routes (registered when given). */
  events?: EventRoutesDeps;
  /** `DELETE /blobs?scope=unreferenced` (registered when given). */
  blobs?: BlobRoutesDeps;
  /** `/mailQueues` (registered when given). */
  mailQueues?: MailQueueAdmin;
  /** `/tasks`, and the repository and queue operations that run as tasks (registered when given). */
  tasks?: TaskManager;
  /** Message bytes for `.eml` downloads of repository mails. */
  messages?: BlobStore;
  /** Processors of the mailet container (reprocessing targets are checked against them). */
  processors?: string[];
  /** Search reindexing tasks (`POST /mailboxes?task=reIndex`…; registered with `tasks`). */
  reindex?: { mailboxes: MailboxManager };
  /** `/quota` routes (registered when given). */
  quota?: QuotaRoutesDeps;
  /** `/vacation/{user}` (registered when given). */
  vacation?: VacationService;
  logger: Logger;
}

/** Largest WebAdmin request body: admin JSON is small; this bounds what a bad client can send. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Longest path parameter: addresses (254) and regex mappings (512), URL-encoded, fit (fastify's default is 100). */
export const MAX_PARAM_LENGTH = 2048;

/** WebAdmin: James-compatible REST routes, one fastify plugin per resource. */
export function createWebAdmin(deps: WebAdminDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: MAX_BODY_BYTES, routerOptions: { maxParamLength: MAX_PARAM_LENGTH } });
  registerErrorHandling(app);
  app.register(healthRoutes(deps));
  app.register(domainRoutes(deps));
  app.register(userRoutes(deps));
  app.register(addressRoutes(deps));
  app.register(mappingRoutes(deps));
  app.register(mailRepositoryRoutes(deps));
  if (deps.events) app.register(eventRoutes(deps.events));
  if (deps.blobs) app.register(blobRoutes(deps.blobs));
  if (deps.mailQueues && deps.tasks) app.register(mailQueueRoutes({ mailQueues: deps.mailQueues, tasks: deps.tasks }));
  if (deps.tasks) app.register(taskRoutes({ tasks: deps.tasks }));
  if (deps.vacation) app.register(vacationRoutes({ identity: deps.identity, vacation: deps.vacation }));
  if (deps.quota) app.register(quotaRoutes(deps.quota));
  if (deps.tasks && deps.reindex) app.register(reindexRoutes({ tasks: deps.tasks, mailboxes: deps.reindex.mailboxes, userExists: (user) => deps.identity.userExists(user) }));
  return app;
}
