import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { BlobGcActivities } from '../activities/blob-gc-activities';
import type { MailActivities } from '../activities/mail-activities';
import type { RemoteDeliveryActivities } from '../activities/remote-delivery-activities';
import type { TaskActivities } from '../activities/task-activities';

/** Bundles the workflow code once (a few seconds); share the bundle between workers. */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silentBundlerLogger });
}

export interface MailWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  /** The mail, remote delivery and task activities, and the blob garbage collection's when this node runs it. */
  activities: MailActivities & RemoteDeliveryActivities & TaskActivities & Partial<BlobGcActivities>;
  workflowBundle: WorkflowBundleWithSourceMap;
  logger: Logger;
}

export interface RunningWorker {
  /**
   * The worker's own connection: a client built on it may ask for eager workflow starts (the
   * server hands the first workflow task back in the start response to this worker).
   */
  readonly connection: NativeConnection;
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
  });
  const running = worker.run();
  running.catch((err: unknown) => options.logger.error({ err }, 'mail worker stopped with an error'));
  return {
    connection,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
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
