import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createBlobGcActivities } from '../activities/blob-gc-activities';
import { TemporalDevServer, findTemporalCli } from '../temporal/dev-server';
import { bundleWorkflows, startMailWorker, type RunningWorker } from '../workers/mail-worker';
import type { PostflowConfig } from './config/schema';
import { ConfigError } from './config/load-config';
import { TemporaryError } from './core/errors';
import type { ProcessorGraph } from './mailet/graph/model';
import { createMailProcessing, prepareMailetContainer } from './mailet/setup';
import type { MailetServices } from './mailet/api';
import type { MxResolver } from './remote-delivery/smtp-sender';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { createImapServer, type ImapDeps } from './protocols/imap';
import { startSmtpListeners } from './protocols/smtp';
import type { Backends, HealthCheck } from './storage/backends';
import { createEmbeddedBackends } from './storage/embedded';
import { InFlightMailReferences } from './blob/gc/in-flight-mail-references';
import { startBlobGc } from './blob/gc/start-blob-gc';
import { createDistributedBackends } from './storage/distributed';
import { loadTls, MIN_TLS_VERSION } from './tls/tls-config';
import { createIdentityServices } from './users/identity';
import { LdapUserDirectory } from './users/ldap/ldap-user-directory';
import { createWebAdmin } from './webadmin/webadmin-server';

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
    const identity = createIdentityServices({
      users: backends.users,
      domains: backends.domains,
      rrt: backends.rrt,
      delegations: backends.delegations,
      directory: config.users.repository === 'ldap' ? new LdapUserDirectory(config.ldap, logger.child({ component: 'ldap' })) : undefined,
      domainSettings: config.domains,
      authSettings: config.auth,
      logger,
    });
    await identity.domains.ensureDefaults();
    const tls = loadTls(config.tls);

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
        ...options.mailetServices,
      },
      mxResolver: options.mxResolver,
    });
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
        activities: { ...activities, ...blobGcActivities },
        workflowBundle: options.workflowBundle ?? (await bundleWorkflows()),
        logger: logger.child({ component: 'worker' }),
      });
      stack.push(() => worker.stop());
    }

    const ports: RunningPostflow['ports'] = {};
    if (config.smtp.enabled) {
      const smtp = await startSmtpListeners(
        {
          blobs: backends.blobs,
          queue: mailProcessing.queue,
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
      const imapDeps: ImapDeps = {
          mailboxes: backends.mailboxes,
          blobs: backends.blobs,
          events: backends.events,
          authenticate: async (username, password, remoteAddress, options) => {
            const result = await identity.auth.authenticate({ username, password, remoteAddress, authorizationId: options?.authorizationId, protocol: 'imap' });
            if (!result.ok && result.reason === 'unavailable') throw new TemporaryError('The users directory is unavailable');
            return result.ok ? result.user : null;
          },
          plainTextAllowed: (remoteAddress, secure) => identity.auth.plainTextAllowed(remoteAddress, secure),
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
        events: { eventBus: backends.events, deadLetters: backends.deadLetters, logger: logger.child({ component: 'events-webadmin' }) },
        blobs: { startBlobGc: (request) => startBlobGc(client, config.temporal.taskQueue, request) },
        mailQueues: mailProcessing.queueAdmin,
        tasks: mailProcessing.taskManager,
        messages: backends.blobs,
        processors: Object.keys(mailetContainer.graph.processors),
        logger: logger.child({ component: 'webadmin' }),
      });
      await webadmin.listen({ host: config.webadmin.host, port: config.webadmin.port });
      ports.webadmin = (webadmin.server.address() as { port: number }).port;
      stack.push(() => webadmin.close());
    }
    logger.info({ profile: config.profile, temporal: temporalAddress, ...ports }, 'Postflow started');
    return { backends, temporalAddress, temporalDevServerPid, client, mailProcessing, ports, stop };
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
