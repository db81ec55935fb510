import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { silentBundlerLogger } from '../../workers/mail-worker';

/** The Temporal of `scripts/engines.sh`, or the one the environment names. */
export const TEST_TEMPORAL_ADDRESS = process.env.POSTFLOW_TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';

export interface FixtureWorker {
  client: Client;
  stop(): Promise<void>;
}

/**
 * A worker running the workflows of one test fixture module on its own task queue, and a client:
 * for tests of the SDK's workflow sandbox (with the patches of `patches/`).
 */
export async function startFixtureWorker(options: { workflowsPath: string; taskQueue: string; debugMode?: boolean }): Promise<FixtureWorker> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Installed by an earlier suite of this process.
  }
  const connection = await Connection.connect({ address: TEST_TEMPORAL_ADDRESS });
  const nativeConnection = await NativeConnection.connect({ address: TEST_TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue: options.taskQueue,
    debugMode: options.debugMode ?? false,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: options.workflowsPath, logger: silentBundlerLogger }),
  });
  const running = worker.run();
  return {
    client: new Client({ connection }),
    async stop() {
      worker.shutdown();
      await running.catch(() => undefined);
      await nativeConnection.close();
      await connection.close();
    },
  };
}
