import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { createMailActivities } from '../../activities/mail-activities';
import { createRemoteDeliveryActivities } from '../../activities/remote-delivery-activities';
import { createTaskActivities } from '../../activities/task-activities';
import type { PostflowConfig } from '../config/schema';
import type { MailReference } from '../core/mail';
import { MailQueueAdmin } from '../queue/mail-queue-admin';
import { TemporalMailQueue } from '../queue/temporal-mail-queue';
import { parseDelays } from '../remote-delivery/delays';
import { SmtpSender, type MxResolver } from '../remote-delivery/smtp-sender';
import type { Backends } from '../storage/backends';
import { TaskManager } from '../tasks/task-manager';
import type { MailetServices } from './api';
import { loadCustomDefinitions } from './config/load-custom';
import { loadGraphFile } from './config/load-graph';
import { DEFAULT_GRAPH } from './graph/default-graph';
import type { CompiledGraph, ProcessorGraph } from './graph/model';
import { GraphConfigError, MailetRegistry } from './registry';
import { MailetRuntime } from './runtime/mailet-runtime';

export interface MailetContainer {
  registry: MailetRegistry;
  graph: CompiledGraph;
}

/**
 * Loads and validates the mailet container at start-up (custom mailets, then the graph file or
 * James' default): a bad configuration stops start-up with a message naming processor and step.
 */
export function prepareMailetContainer(config: PostflowConfig, graph?: ProcessorGraph): MailetContainer {
  const registry = new MailetRegistry();
  const custom = loadCustomDefinitions({ directory: config.mailetcontainer.customMailetsDirectory || undefined, packages: config.mailetcontainer.customMailetPackages });
  for (const m of custom.matchers) registry.registerMatcher(m);
  for (const m of custom.mailets) registry.registerMailet(m);
  const source = graph ?? (config.mailetcontainer.file ? loadGraphFile(config.mailetcontainer.file) : DEFAULT_GRAPH);
  if (config.remoteDelivery.delays) {
    try {
      parseDelays(config.remoteDelivery.delays);
    } catch (err) {
      throw new GraphConfigError(`remoteDelivery.delays: ${(err as Error).message}`);
    }
  }
  return { registry, graph: registry.compile(source) };
}

export interface MailProcessingDeps {
  config: PostflowConfig;
  container: MailetContainer;
  backends: Backends;
  client: Client;
  isLocalDomain(domain: string): Promise<boolean>;
  isLocalUser(address: string): Promise<boolean>;
  logger: Logger;
  /** Extra optional services for mailets (quota, vacation, RRT loop check, DNS for DKIM…). */
  services?: MailetServices;
  /** MX lookup override (tests: a local SMTP sink). */
  mxResolver?: MxResolver;
}

/** Everything mail processing needs on a node: the spool, queue admin, task manager, and the worker's activities. */
export function createMailProcessing(deps: MailProcessingDeps) {
  const { config, container, backends, client, logger } = deps;
  const taskQueue = config.temporal.taskQueue;
  const queue = new TemporalMailQueue(client, taskQueue);
  const queueAdmin = new MailQueueAdmin(client, taskQueue);
  const taskManager = new TaskManager(client, taskQueue);
  const postmaster = config.mailetcontainer.postmaster || `postmaster@${defaultDomain(config)}`;
  const runtime = new MailetRuntime({
    registry: container.registry,
    graph: container.graph,
    hostname: config.hostname,
    postmaster,
    isLocalDomain: deps.isLocalDomain,
    isLocalUser: deps.isLocalUser,
    mailboxes: backends.mailboxes,
    blobs: backends.blobs,
    mailRepositories: backends.mailRepositories,
    logger: logger.child({ component: 'mailet' }),
    services: {
      remoteDelivery: {
        gateway: config.remoteDelivery.gateway.length > 0 ? config.remoteDelivery.gateway : undefined,
        delaysMs: config.remoteDelivery.delays ? parseDelays(config.remoteDelivery.delays) : undefined,
        maxRetries: config.remoteDelivery.maxRetries,
      },
      ...deps.services,
    },
    submitMail: (mail: MailReference) => queue.enqueue(mail),
    execution: config.mailetcontainer.execution,
  });
  const sender = new SmtpSender(backends.blobs, logger.child({ component: 'remote-delivery' }), {
    heloName: config.remoteDelivery.heloName || config.hostname,
    port: config.remoteDelivery.port,
    connectTimeoutMs: config.remoteDelivery.connectTimeoutMs,
    greetingTimeoutMs: config.remoteDelivery.greetingTimeoutMs,
    socketTimeoutMs: config.remoteDelivery.socketTimeoutMs,
    resolver: deps.mxResolver,
  });
  const activities = {
    ...createMailActivities({ runtime, mailRepositories: backends.mailRepositories }),
    ...createRemoteDeliveryActivities({ sender }),
    ...createTaskActivities({ mailRepositories: backends.mailRepositories, queue, queueAdmin }),
  };
  return { queue, queueAdmin, taskManager, activities, runtime };
}

function defaultDomain(config: PostflowConfig): string {
  const domains = (config as unknown as { domains?: { defaultDomain?: string } }).domains;
  return domains?.defaultDomain ?? config.hostname;
}
