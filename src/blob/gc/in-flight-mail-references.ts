import type { Client } from '@temporalio/client';
import type { BlobReferenceSource } from '../api/blob-references';
import { collectJsonBlobIds } from './blob-id-columns';

/**
 * Workflows whose input carries blob references: the mail reference of a received mail
 * (`processMail`), and of a mail in the outgoing queue (`deliverRemotely`, which outlives the
 * `processMail` that started it and may retry for days: its input is the only reference).
 */
export const IN_FLIGHT_WORKFLOW_TYPES: readonly string[] = ['processMail', 'deliverRemotely'];
/** Histories read at once. */
const CONCURRENCY = 16;

/**
 * The blob ids held by running workflows only: a mail between its SMTP `250` and its delivery (or a
 * mail waiting days for a remote retry) is referenced by nothing but its workflow's input. Lists the
 * running executions through Temporal visibility and reads the first event of each history (the
 * start input: `messageBlobId` and any other `…BlobId(s)`).
 *
 * Not seen: blobs a mailet creates midway (only in the workflow's state) and workflows started
 * within visibility's lag; both are young blobs, which the grace period protects.
 */
export class InFlightMailReferences implements BlobReferenceSource {
  readonly name = 'in-flight workflows';
  readonly kind = 'in-flight';

  constructor(
    private readonly client: Client,
    private readonly workflowTypes: readonly string[] = IN_FLIGHT_WORKFLOW_TYPES,
  ) {}

  async *references(signal?: AbortSignal): AsyncIterable<string[]> {
    const types = this.workflowTypes.map((type) => `WorkflowType = '${type.replace(/'/g, '')}'`).join(' OR ');
    const query = `ExecutionStatus = 'Running' AND (${types})`;
    let pending: Array<{ workflowId: string; runId: string }> = [];
    for await (const execution of this.client.workflow.list({ query })) {
      pending.push({ workflowId: execution.workflowId, runId: execution.runId });
      if (pending.length >= CONCURRENCY) {
        signal?.throwIfAborted();
        yield (await Promise.all(pending.map((e) => this.startInputBlobIds(e.workflowId, e.runId)))).flat();
        pending = [];
      }
    }
    if (pending.length > 0) yield (await Promise.all(pending.map((e) => this.startInputBlobIds(e.workflowId, e.runId)))).flat();
  }

  private async startInputBlobIds(workflowId: string, runId: string): Promise<string[]> {
    let response;
    try {
      response = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId, runId },
        maximumPageSize: 1,
      });
    } catch (err) {
      // Closed and removed since it was listed: its references are in the stores, or gone.
      if ((err as { code?: number }).code === 5 /* NOT_FOUND */) return [];
      throw err;
    }
    const started = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    const out: string[] = [];
    const converter = this.client.options.loadedDataConverter.payloadConverter;
    for (const payload of started?.input?.payloads ?? []) collectJsonBlobIds(converter.fromPayload(payload), out);
    return out;
  }
}
