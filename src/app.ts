import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createBlobGcActivities } from '../activities/blob-gc-activities';
import { createEventTaskActivities } from '../activities/event-task-activities';
import { createUserTaskActivities } from '../activities/user-task-activities';
import { TemporalDevServer, findTemporalCli } from '../temporal/dev-server';
import { bundleWorkflows, startMailWorker, type RunningWorker } from '../workers/mail-worker';
import type { PostflowConfig } from './config/schema';
import { ConfigError } from './config/load-config';
import { TemporaryError } from './core/errors';
import { ERROR, mailKey } from './core/mail';
import { ERROR_REPOSITORY } from './mailrepository/api/mail-repository-store';
import type { ProcessorGraph } from './mailet/graph/model';
import { createMailProcessing, prepareMailetContainer } from './mailet/setup';
import type { MailetServices } from './mailet/api';
import type { MxResolver } from './remote-delivery/smtp-sender';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { createImapServer } from './protocols/imap';
import type { ImapSearchDeps } from './protocols/imap/search/index-search';
import { startSmtpListeners } from './protocols/smtp';
import { JournaledMailHandOff } from './queue/journaled-mail-hand-off';
import type { Backends, HealthCheck } from './storage/backends';
import { createEmbeddedBackends } from './storage/embedded';
import { InFlightMailReferences } from './blob/gc/in-flight-mail-references';
import { startBlobGc } from './blob/gc/start-blob-gc';
import { createDistributedBackends } from './storage/distributed';
import { startSearchIndexing } from './search/start-search-indexing';
import { createReindexActivities } from '../activities/reindex-activities';
import { loadTls, MIN_TLS_VERSION } from './tls/tls-config';
import { createIdentityServices } from './users/identity';
import { UserDataDeletion, UsernameChange } from './users/username-change';
import { vacationMailetServices } from './vacation/mailet-services';
import { VacationService } from './vacation/vacation-service';
import { taskManagerStarter } from './webadmin/routes/events';
import { LdapUserDirectory } from './users/ldap/ldap-user-directory';
import { createWebAdmin } from './webadmin/webadmin-server';
import { createQuotaService, imapQuotaDeps, startMailboxListeners } from './quota/start-quota';
import { createQuotaActivities } from '../activities/quota-activities';

/** Start-up failed because an engine does not answer; the message names it and its address. */
export class EngineUnavailableError extends Error {}

export interface StartOptions {
  config: PostflowConfig;
  logger: Logger;
  /** Pre-bundled workflow code (tests share one bundle); bundled at start otherwise. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  graph?: ProcessorGraph;
  /** Distributed profile: Cassandra keyspace override (tests use one per run). */
  keyspace?: string;
  /** Optional services for mailets (quota, vacation, DKIM DNS…). */
  mailetServices?: MailetServices;
  /** MX lookup of RemoteDelivery (tests point it at a local SMTP sink). */
  mxResolver?: MxResolver;
}

export interface RunningPostflow {
  readonly backends: Backends;
  readonly temporalAddress: string;
  readonly client: Client;
  /** The spool, queue admin and task manager of this node. */
  readonly mailProcessing: ReturnType<typeof createMailProcessing>;
  readonly ports: { smtp?: number; submission?: number; smtps?: number; imap?: number; imaps?: number; webadmin?: number };
  /** Process id of the Temporal dev server this node started, if any. */
  readonly temporalDevServerPid?: number;
  /** The workflow task slots of this node's worker (none: a node without a worker). */
  readonly workflowTaskSlots?: number;
  /** The journal hand-off of accepted mails (`smtp.handOff: journal` on the embedded profile), if used. */
  readonly handOff?: JournaledMailHandOff;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** Starts one Postflow node: engines' clients, Temporal worker, SMTP, IMAP and WebAdmin. */
export async function startPostflow(options: StartOptions): Promise<RunningPostflow> {
  const { config, logger } = options;
  const stack: Array<() => Promise<void>> = [];
  const stop = async () => {
    while (stack.length > 0) {
      const step = stack.pop() as () => Promise<void>;
      await step().catch((err: unknown) => logger.warn({ err }, 'error while stopping'));
    }
  };
  try {
    if (!runtimeInstalled) {
      Runtime.install({ logger: new DefaultLogger('WARN', ({ level, message, meta }) => logger.child({ component: 'temporal-sdk' })[level === 'WARN' ? 'warn' : 'error']({ meta }, message)) });
      runtimeInstalled = true;
    }
    const mailetContainer = prepareMailetContainer(config, options.graph);

    let temporalAddress = config.temporal.address;
    let temporalDevServerPid: number | undefined;
    if (!temporalAddress) {
      if (config.profile === 'distributed') throw new ConfigError('temporal.address: required on the distributed profile (host:port of the Temporal frontend)');
      const devServer = new TemporalDevServer({
        cliPath: findTemporalCli(config.temporal.cliPath, process.env),
        dataDir: config.dataDir,
        port: config.temporal.devServerPort,
        uiPort: config.temporal.uiPort,
        visibilityIndexes: config.temporal.visibilityIndexes,
        goRuntime: { maxProcs: config.temporal.devServerMaxProcs, gc: config.temporal.devServerGoGc },
        logger: logger.child({ component: 'temporal-dev-server' }),
      });
      await devServer.start();
      stack.push(() => devServer.stop());
      temporalAddress = devServer.address;
      temporalDevServerPid = devServer.pid;
    }

    let connection: Connection;
    try {
      connection = await Connection.connect({ address: temporalAddress, connectTimeout: 10_000 });
      await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
    } catch (err) {
      throw new EngineUnavailableError(`Cannot reach Temporal at ${temporalAddress} (namespace ${config.temporal.namespace}): ${(err as Error).message}`);
    }
    stack.push(() => connection.close());
    await ensureSearchAttributes(connection, config.temporal.namespace);
    const client = new Client({ connection, namespace: config.temporal.namespace });

    const backends =
      config.profile === 'embedded'
        ? await createEmbeddedBackends({ dataDir: config.dataDir, logger, eventRetry: config.events, blobStore: config.blobStore })
        : await createDistributedBackends({ config, logger, keyspace: options.keyspace }).catch((err: Error) => {
            throw new EngineUnavailableError(err.message);
          });
    stack.push(() => backends.close());
    let reindexActivities: ReturnType<typeof createReindexActivities> | undefined;
    if (backends.search) {
      const searchIndexing = await startSearchIndexing({
        index: backends.search,
        events: backends.events,
        mailboxes: backends.mailboxes,
        blobs: backends.blobs,
        tikaUrl: config.tika.url,
        logger: logger.child({ component: 'search-indexer' }),
      });
      stack.push(() => searchIndexing.registration.unregister());
      reindexActivities = createReindexActivities({ mailboxes: backends.mailboxes, users: backends.users, index: backends.search, indexer: searchIndexing.indexer });
    }
    const identity = createIdentityServices({
      users: backends.users,
      domains: backends.domains,
      rrt: backends.rrt,
      delegations: backends.delegations,
      directory: config.users.repository === 'ldap' ? new LdapUserDirectory(config.ldap, logger.child({ component: 'ldap' })) : undefined,
      domainSettings: config.domains,
      authSettings: config.auth,
      loginFailures: backends.loginFailures,
      logger,
    });
    await identity.domains.ensureDefaults();
    const vacation = backends.vacation ? new VacationService(backends.vacation, logger.child({ component: 'vacation' })) : undefined;
    const tls = loadTls(config.tls);

    const quota = createQuotaService(backends);
    const mailProcessing = createMailProcessing({
      config,
      container: mailetContainer,
      backends,
      client,
      isLocalDomain: (domain) => identity.domains.contains(domain),
      isLocalUser: (address) => identity.userExists(address),
      logger,
      services: {
        recipientRewriteTable: { rewriteRecipient: (address) => identity.rrt.rewriteRecipient(address) },
        isInRrtLoop: (address) => identity.isInRrtLoop(address),
        ...(quota ? { isOverQuota: (user: string, size: number) => quota.isOverQuota(user, size) } : {}),
        ...(vacation ? vacationMailetServices(vacation) : {}),
        ...options.mailetServices,
      },
      mxResolver: options.mxResolver,
    });
    const mailboxListeners = await startMailboxListeners({
      config,
      backends,
      quota,
      queue: mailProcessing.queue,
      mailExists: (mailId) => client.workflow.getHandle(`mail-${mailId}`).describe().then(() => true, (err: unknown) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err))),
      logger,
    });
    stack.push(() => mailboxListeners.unregister());
    let workflowTaskSlots: number | undefined;
    if (config.temporal.worker) {
      const activities = mailProcessing.activities;
      const blobGcActivities = createBlobGcActivities({
        blobs: backends.blobs,
        references: [new InFlightMailReferences(client), ...(backends.blobReferences ? [backends.blobReferences] : [])],
        logger: logger.child({ component: 'blob-gc' }),
      });
      const worker: RunningWorker = await startMailWorker({
        address: temporalAddress,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        activities: {
          ...activities,
          ...blobGcActivities,
          ...(reindexActivities ?? {}),
          ...createEventTaskActivities({ bus: backends.events, deadLetters: backends.deadLetters, logger: logger.child({ component: 'event-tasks' }) }),
          ...(quota ? createQuotaActivities({ quota, listUsers: () => backends.users.listUsers(), logger: logger.child({ component: 'quota-tasks' }) }) : {}),
          ...createUserTaskActivities({
            usernameChange: new UsernameChange({ rrt: identity.rrt, delegations: backends.delegations, mailboxes: backends.mailboxes, vacation: backends.vacation, quotas: backends.quotas, logger: logger.child({ component: 'username-change' }) }),
            userDataDeletion: new UserDataDeletion({ rrt: identity.rrt, delegations: backends.delegations, mailboxes: backends.mailboxes, vacation: backends.vacation, logger: logger.child({ component: 'user-data-deletion' }) }),
          }),
        },
        workflowBundle: options.workflowBundle ?? (await bundleWorkflows()),
        workflowTaskSlots: config.temporal.workflowTaskSlots,
        logger: logger.child({ component: 'worker' }),
      });
      stack.push(() => worker.stop());
      workflowTaskSlots = worker.workflowTaskSlots;
      if (config.temporal.eagerStart) {
        mailProcessing.queue.startEagerlyWith(new Client({ connection: worker.connection, namespace: config.temporal.namespace }));
        stack.push(async () => mailProcessing.queue.startEagerlyWith(null));
      }
    }

    // The journal is emptied at every start, whatever the hand-off: a node that stopped with
    // journaled mails and restarts with `smtp.handOff: start` still starts them.
    let handOff: JournaledMailHandOff | undefined;
    if (backends.acceptedMails) {
      const journaled = new JournaledMailHandOff(
        backends.acceptedMails,
        mailProcessing.queue,
        { keep: (mail, reason) => backends.mailRepositories.store(ERROR_REPOSITORY, mailKey(mail), { ...mail, state: ERROR, errorMessage: reason }) },
        logger.child({ component: 'hand-off' }),
      );
      stack.push(() => journaled.close());
      await journaled.recover();
      if (config.smtp.handOff === 'journal') handOff = journaled;
    }

    const ports: RunningPostflow['ports'] = {};
    if (config.smtp.enabled) {
      const smtp = await startSmtpListeners(
        {
          blobs: backends.blobs,
          queue: handOff ?? mailProcessing.queue,
          isLocalDomain: (domain) => identity.domains.contains(domain),
          userExists: (address) => identity.userExists(address),
          rrt: identity.rrt,
          auth: identity.auth,
          senders: identity.senders,
          logger: logger.child({ component: 'smtp' }),
        },
        {
          host: config.smtp.host,
          hostname: config.hostname,
          maxMessageSize: config.smtp.maxMessageSize,
          port: config.smtp.port,
          submissionPort: config.smtp.submissionEnabled ? config.smtp.submissionPort : null,
          tlsPort: config.smtp.tlsPort,
          tls,
        },
      );
      Object.assign(ports, smtp.ports);
      stack.push(() => smtp.close());
    }
    if (config.imap.enabled) {
      const imapDeps: ImapSearchDeps = {
          search: backends.search,
          mailboxes: backends.mailboxes,
          blobs: backends.blobs,
          events: backends.events,
          authenticate: async (username, password, remoteAddress, options) => {
            const result = await identity.auth.authenticate({ username, password, remoteAddress, authorizationId: options?.authorizationId, protocol: 'imap' });
            if (!result.ok && result.reason === 'unavailable') throw new TemporaryError('The users directory is unavailable');
            return result.ok ? result.user : null;
          },
          plainTextAllowed: (remoteAddress, secure) => identity.auth.plainTextAllowed(remoteAddress, secure),
          quota: quota ? imapQuotaDeps(quota, config) : undefined,
          tls: tls?.context,
          logger,
      };
      const imap = createImapServer(imapDeps, { host: config.imap.host, port: config.imap.port });
      ports.imap = (await imap.listen()).port;
      stack.push(() => imap.close());
      if (tls) {
        const imaps = createImapServer(imapDeps, { host: config.imap.host, port: config.imap.tlsPort, implicitTls: { key: tls.key, cert: tls.cert, minVersion: MIN_TLS_VERSION } });
        ports.imaps = (await imaps.listen()).port;
        stack.push(() => imaps.close());
      }
    }
    if (config.webadmin.enabled) {
      const checks = async (): Promise<HealthCheck[]> => [...(await backends.checkHealth()), await temporalHealth(connection, config.temporal.namespace)];
      const webadmin = createWebAdmin({
        identity,
        mailRepositories: backends.mailRepositories,
        checks,
        events: { eventBus: backends.events, deadLetters: backends.deadLetters, logger: logger.child({ component: 'events-webadmin' }), startTask: taskManagerStarter(mailProcessing.taskManager) },
        blobs: { startBlobGc: (request) => startBlobGc(client, config.temporal.taskQueue, request) },
        mailQueues: mailProcessing.queueAdmin,
        tasks: mailProcessing.taskManager,
        messages: backends.blobs,
        processors: Object.keys(mailetContainer.graph.processors),
        vacation,
        reindex: backends.search ? { mailboxes: backends.mailboxes } : undefined,
        quota: quota
          ? {
              quota,
              userExists: (user) => identity.userExists(user),
              domainExists: (domain) => identity.domains.contains(domain),
              listUsers: () => backends.users.listUsers(),
              startRecompute: (options) => mailProcessing.taskManager.submit('recompute-current-quotas', 'recomputeCurrentQuotas', options),
            }
          : undefined,
        logger: logger.child({ component: 'webadmin' }),
      });
      await webadmin.listen({ host: config.webadmin.host, port: config.webadmin.port });
      ports.webadmin = (webadmin.server.address() as { port: number }).port;
      stack.push(() => webadmin.close());
    }
    logger.info({ profile: config.profile, temporal: temporalAddress, ...ports }, 'Postflow started');
    return { backends, temporalAddress, temporalDevServerPid, workflowTaskSlots, handOff, client, mailProcessing, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function temporalHealth(connection: Connection, namespace: string): Promise<HealthCheck> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return { componentName: 'Temporal', status: 'healthy', cause: null };
  } catch (err) {
    return { componentName: 'Temporal', status: 'unhealthy', cause: (err as Error).message };
  }
}
