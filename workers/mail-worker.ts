import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { BlobGcActivities } from '../activities/blob-gc-activities';
import type { MailActivities } from '../activities/mail-activities';
import type { RemoteDeliveryActivities } from '../activities/remote-delivery-activities';
import type { TaskActivities } from '../activities/task-activities';

/**
 * Bundles the workflow code once (a few seconds); share the bundle between workers.
 *
 * The workflow modules and the SDK's workflow API are preloaded: evaluated once when the worker's
 * V8 context starts and shared by every workflow, instead of evaluated again for each workflow (the
 * SDK's default for modules a workflow imports). That is safe because none of them keeps state
 * between calls: their module scope holds constants, query and signal definitions and activity
 * proxies, which look the running workflow up when called (test/temporal/workflow-preload.test.ts
 * checks it). A module that kept per-workflow state in its scope must not be listed here.
 */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  const workflowsPath = require.resolve('../workflows');
  return bundleWorkflowCode({ workflowsPath, preloadModules: ['@temporalio/workflow', workflowsPath], logger: silentBundlerLogger });
}

export interface MailWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  /** The mail, remote delivery and task activities, and the blob garbage collection's when this node runs it. */
  activities: MailActivities & RemoteDeliveryActivities & TaskActivities & Partial<BlobGcActivities>;
  workflowBundle: WorkflowBundleWithSourceMap;
  /** Workflow tasks held at once (config `temporal.workflowTaskSlots`); the SDK's default when unset. */
  workflowTaskSlots?: number;
  logger: Logger;
}

export interface RunningWorker {
  /**
   * The worker's own connection: a client built on it may ask for eager workflow starts (the
   * server hands the first workflow task back in the start response to this worker).
   */
  readonly connection: NativeConnection;
  /** The workflow task slots the worker runs with. */
  readonly workflowTaskSlots: number;
  stop(): Promise<void>;
}

/** Starts a worker polling the mail task queue; `stop()` drains in-flight tasks and closes. */
export async function startMailWorker(options: MailWorkerOptions): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle,
    activities: options.activities,
    maxConcurrentWorkflowTaskExecutions: options.workflowTaskSlots,
  });
  const running = worker.run();
  running.catch((err: unknown) => options.logger.error({ err }, 'mail worker stopped with an error'));
  return {
    connection,
    workflowTaskSlots: fixedSlots(worker.options.tuner.workflowTaskSlotSupplier),
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** The slot count of a fixed-size slot supplier (the only kind Postflow configures); NaN for another kind. */
function fixedSlots(supplier: { type: string; numSlots?: number }): number {
  return supplier.type === 'fixed-size' && typeof supplier.numSlots === 'number' ? supplier.numSlots : Number.NaN;
}

/** A logger for `bundleWorkflowCode` that keeps webpack's report quiet. */
export const silentBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  log: () => undefined,
};
