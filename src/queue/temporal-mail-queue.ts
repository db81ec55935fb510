import { isGrpcServiceError, ServiceError, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { MailReference } from '../core/mail';
import { PermanentError, TemporaryError } from '../core/errors';
import type { MailQueue } from './mail-queue';
import { NULL_SENDER, QUEUE_ATTRIBUTE, RECIPIENTS_ATTRIBUTE, recipientsAttributeValue, SENDER_ATTRIBUTE, SPOOL_QUEUE, STATE_ATTRIBUTE } from '../../workflows/lib/search-attributes';

/** gRPC status INVALID_ARGUMENT (the SDK does not re-export grpc-js' `status`). */
const GRPC_INVALID_ARGUMENT = 3;

export function mailWorkflowId(mailId: string): string {
  return `mail-${mailId}`;
}

export interface EnqueueOptions {
  /** Workflow id (default `mail-<mailId>`); reprocessing uses its own so each run is distinct. */
  workflowId?: string;
}

/**
 * Mail queue = Temporal: enqueuing starts the mail's processMail workflow (claim check only) with
 * the spool's search attributes, so `/mailQueues/spool` lists it while it is processed.
 */
export class TemporalMailQueue implements MailQueue {
  private eagerClient: Client | null = null;
  private eagerStarts = 0;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /**
   * Starts mails eagerly from now on: `client` runs on the in-process worker's connection, so the
   * server answers the start with the mail's first workflow task for that worker (one poll round
   * trip and one history write less per mail). The start is as durable as a normal one; when the
   * worker has no free slot the server falls back to a normal start.
   */
  startEagerlyWith(client: Client | null): void {
    this.eagerClient = client;
  }

  /** Mails whose start the server answered with their first workflow task (benchmarks, tests). */
  get eagerlyStarted(): number {
    return this.eagerStarts;
  }

  async enqueue(mail: MailReference, options: EnqueueOptions = {}): Promise<void> {
    const eager = this.eagerClient;
    try {
      const handle = await (eager ?? this.client).workflow.start('processMail', {
        requestEagerStart: eager !== null,
        workflowId: options.workflowId ?? mailWorkflowId(mail.mailId),
        // A mail id is processed once: a hand-over repeated after its workflow closed (a journaled
        // mail started again after a crash) must not deliver it a second time.
        workflowIdReusePolicy: options.workflowId === undefined ? 'REJECT_DUPLICATE' : undefined,
        taskQueue: this.taskQueue,
        args: [mail],
        staticSummary: `${mail.sender ?? NULL_SENDER} → ${mail.recipients.length === 1 ? mail.recipients[0] : `${mail.recipients.length} recipients`}`,
        typedSearchAttributes: [
          { key: QUEUE_ATTRIBUTE, value: SPOOL_QUEUE },
          { key: STATE_ATTRIBUTE, value: 'processing' },
          { key: SENDER_ATTRIBUTE, value: mail.sender ?? NULL_SENDER },
          { key: RECIPIENTS_ATTRIBUTE, value: recipientsAttributeValue(mail.recipients) },
        ],
      });
      if (handle.eagerlyStarted) this.eagerStarts++;
    } catch (err) {
      // Same mail id started twice (a retried hand-over): already durable, nothing to do.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      // The server refuses the start itself (a value above its limits): trying again cannot help.
      if (err instanceof ServiceError && isGrpcServiceError(err.cause) && err.cause.code === GRPC_INVALID_ARGUMENT) {
        throw new PermanentError(`Temporal refuses the processing of mail ${mail.mailId}: ${err.cause.details || err.cause.message}`);
      }
      throw new TemporaryError(`Cannot start the processing of mail ${mail.mailId}: ${(err as Error).message}`);
    }
  }
}
