import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createMailActivities } from '../activities/mail-activities';
import { TemporalDevServer, findTemporalCli } from '../temporal/dev-server';
import { bundleWorkflows, startMailWorker, type RunningWorker } from '../workers/mail-worker';
import type { PostflowConfig } from './config/schema';
import { ConfigError } from './config/load-config';
import { DEFAULT_GRAPH } from './mailet/graph/default-graph';
import type { ProcessorGraph } from './mailet/graph/model';
import { MailetRegistry } from './mailet/registry';
import { createImapServer } from './protocols/imap';
import { SmtpServer } from './protocols/smtp/smtp-server';
import { TemporalMailQueue } from './queue/temporal-mail-queue';
import type { Backends, HealthCheck } from './storage/backends';
import { createEmbeddedBackends } from './storage/embedded';
import { createDistributedBackends } from './storage/distributed';
import { UserService } from './users/user-service';
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
}

export interface RunningPostflow {
  readonly backends: Backends;
  readonly temporalAddress: string;
  readonly client: Client;
  readonly ports: { smtp?: number; imap?: number; webadmin?: number };
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
    const registry = new MailetRegistry();
    const graph = registry.compile(options.graph ?? DEFAULT_GRAPH);

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
    const client = new Client({ connection, namespace: config.temporal.namespace });

    const backends =
      config.profile === 'embedded'
        ? await createEmbeddedBackends({ dataDir: config.dataDir, logger })
        : await createDistributedBackends({ config, logger, keyspace: options.keyspace }).catch((err: Error) => {
            throw new EngineUnavailableError(err.message);
          });
    stack.push(() => backends.close());
    const userService = new UserService(backends.users, backends.domains);

    if (config.temporal.worker) {
      const activities = createMailActivities({
        registry,
        graph,
        context: {
          isLocalDomain: (domain) => backends.domains.containsDomain(domain),
          isLocalUser: (address) => userService.exists(address),
          mailboxes: backends.mailboxes,
          blobs: backends.blobs,
          mailRepositories: backends.mailRepositories,
          logger: logger.child({ component: 'mailet' }),
        },
      });
      const worker: RunningWorker = await startMailWorker({
        address: temporalAddress,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        activities,
        workflowBundle: options.workflowBundle ?? (await bundleWorkflows()),
        logger: logger.child({ component: 'worker' }),
      });
      stack.push(() => worker.stop());
    }

    const ports: RunningPostflow['ports'] = {};
    if (config.smtp.enabled) {
      const smtp = new SmtpServer(
        {
          blobs: backends.blobs,
          domains: backends.domains,
          queue: new TemporalMailQueue(client, config.temporal.taskQueue),
          userExists: (address) => userService.exists(address),
          logger: logger.child({ component: 'smtp' }),
        },
        { host: config.smtp.host, port: config.smtp.port, hostname: config.hostname, maxMessageSize: config.smtp.maxMessageSize },
      );
      ports.smtp = await smtp.listen();
      stack.push(() => smtp.close());
    }
    if (config.imap.enabled) {
      const imap = createImapServer(
        {
          mailboxes: backends.mailboxes,
          blobs: backends.blobs,
          authenticate: (username, password) => userService.authenticate(username, password),
          logger,
        },
        { host: config.imap.host, port: config.imap.port },
      );
      ports.imap = (await imap.listen()).port;
      stack.push(() => imap.close());
    }
    if (config.webadmin.enabled) {
      const checks = async (): Promise<HealthCheck[]> => [...(await backends.checkHealth()), await temporalHealth(connection, config.temporal.namespace)];
      const webadmin = createWebAdmin({
        domains: backends.domains,
        users: backends.users,
        userService,
        mailRepositories: backends.mailRepositories,
        checks,
        logger: logger.child({ component: 'webadmin' }),
      });
      await webadmin.listen({ host: config.webadmin.host, port: config.webadmin.port });
      ports.webadmin = (webadmin.server.address() as { port: number }).port;
      stack.push(() => webadmin.close());
    }
    logger.info({ profile: config.profile, temporal: temporalAddress, ...ports }, 'Postflow started');
    return { backends, temporalAddress, temporalDevServerPid, client, ports, stop };
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
