import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { MailReference } from '../core/mail';
import { TemporaryError } from '../core/errors';
import type { MailQueue } from './mail-queue';

export function mailWorkflowId(mailId: string): string {
  return `mail-${mailId}`;
}

/** Mail queue = Temporal: enqueuing starts the mail's processMail workflow (claim check only). */
export class TemporalMailQueue implements MailQueue {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  async enqueue(mail: MailReference): Promise<void> {
    try {
      await this.client.workflow.start('processMail', {
        workflowId: mailWorkflowId(mail.mailId),
        taskQueue: this.taskQueue,
        args: [mail],
      });
    } catch (err) {
      // Same mail id started twice (a retried hand-over): already durable, nothing to do.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw new TemporaryError(`Cannot start the processing of mail ${mail.mailId}: ${(err as Error).message}`);
    }
  }
}
