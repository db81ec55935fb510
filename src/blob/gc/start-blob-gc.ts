import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { CollectGarbageBlobsInput } from '../../../workflows/blob-gc';

export type BlobGcRequest = Pick<CollectGarbageBlobsInput, 'expectedBlobCount' | 'associatedProbability' | 'dryRun' | 'gracePeriodMs' | 'buckets'>;

/** Workflow ids of blob garbage collections: `blob-gc-<uuid>`. */
export function blobGcWorkflowId(): string {
  return `blob-gc-${randomUUID()}`;
}

/**
 * Starts a `collectGarbageBlobs` workflow; resolves with its workflow id (WebAdmin's task id until
 * the task manager maps tasks to workflows).
 */
export async function startBlobGc(client: Client, taskQueue: string, request: BlobGcRequest = {}): Promise<string> {
  const workflowId = blobGcWorkflowId();
  await client.workflow.start('collectGarbageBlobs', { workflowId, taskQueue, args: [request] });
  return workflowId;
}
