import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { NotFoundError } from '../core/errors';
import { NEXT_ATTEMPT_ATTRIBUTE, NULL_SENDER, OUTGOING_QUEUE, QUEUE_ATTRIBUTE, RECIPIENTS_ATTRIBUTE, SENDER_ATTRIBUTE, SPOOL_QUEUE, STATE_ATTRIBUTE } from '../../workflows/lib/search-attributes';

/** James' queues: `spool` (mails being processed) and `outgoing` (RemoteDelivery). */
export const MAIL_QUEUES = [SPOOL_QUEUE, OUTGOING_QUEUE];
/** Queued mails returned by one browse at most (James' default page). */
export const MAX_BROWSE = 1_000;

/** One queued mail as WebAdmin shows it (James' JSON, plus the workflow to open in the Temporal UI). */
export interface QueuedMail {
  /** The workflow id: unique, and what `?name=` deletes. */
  name: string;
  sender: string | null;
  recipients: string[];
  /** ISO time of the next attempt of a delayed mail; null when due now. */
  nextDelivery: string | null;
  state: string;
  workflowId: string;
}

export interface QueueFilter {
  sender?: string;
  recipient?: string;
  name?: string;
  delayed?: boolean;
}

/**
 * The mail queues read and changed through Temporal visibility: a queued mail is an open workflow
 * of this node's task queue carrying PostflowQueue. Deleting cancels the workflow; flushing signals
 * delayed deliveries to try now.
 */
export class MailQueueAdmin {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  queues(): string[] {
    return [...MAIL_QUEUES];
  }

  assertQueue(queue: string): void {
    if (!MAIL_QUEUES.includes(queue)) throw new NotFoundError(`${queue} can not be found`);
  }

  query(queue: string, filter: QueueFilter = {}): string {
    this.assertQueue(queue);
    const clauses = [`TaskQueue = ${quote(this.taskQueue)}`, `ExecutionStatus = "Running"`, `${QUEUE_ATTRIBUTE.name} = ${quote(queue)}`];
    if (filter.sender !== undefined) clauses.push(`${SENDER_ATTRIBUTE.name} = ${quote(filter.sender === '' ? NULL_SENDER : filter.sender)}`);
    if (filter.recipient !== undefined) clauses.push(`${RECIPIENTS_ATTRIBUTE.name} = ${quote(filter.recipient)}`);
    if (filter.name !== undefined) clauses.push(`WorkflowId = ${quote(filter.name)}`);
    if (filter.delayed) clauses.push(`${STATE_ATTRIBUTE.name} = "delayed"`);
    return clauses.join(' AND ');
  }

  async size(queue: string, filter: QueueFilter = {}): Promise<number> {
    return (await this.client.workflow.count(this.query(queue, filter))).count;
  }

  async browse(queue: string, filter: QueueFilter = {}, limit = MAX_BROWSE): Promise<QueuedMail[]> {
    const out: QueuedMail[] = [];
    for await (const info of this.client.workflow.list({ query: this.query(queue, filter), pageSize: Math.min(limit, 1000) })) {
      out.push(toQueuedMail(info));
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Cancels up to `limit` matching queued mails; returns how many were asked to stop. */
  async remove(queue: string, filter: QueueFilter, limit = MAX_BROWSE): Promise<number> {
    let removed = 0;
    for (const mail of await this.browse(queue, filter, limit)) {
      try {
        await this.client.workflow.getHandle(mail.workflowId).cancel();
        removed++;
      } catch {
        // Finished meanwhile: nothing left to remove.
      }
    }
    return removed;
  }

  /** Releases delayed mails now (their durable timer is cut short); returns how many. */
  async flush(queue: string): Promise<number> {
    let flushed = 0;
    for (const mail of await this.browse(queue, { delayed: true })) {
      try {
        await this.client.workflow.getHandle(mail.workflowId).signal('flush');
        flushed++;
      } catch {
        // Finished meanwhile.
      }
    }
    return flushed;
  }
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function toQueuedMail(info: WorkflowExecutionInfo): QueuedMail {
  const attrs = info.typedSearchAttributes;
  const sender = attrs.get(SENDER_ATTRIBUTE) ?? null;
  const next = attrs.get(NEXT_ATTEMPT_ATTRIBUTE);
  return {
    name: info.workflowId,
    workflowId: info.workflowId,
    sender: sender === NULL_SENDER ? null : sender,
    recipients: attrs.get(RECIPIENTS_ATTRIBUTE) ?? [],
    nextDelivery: next ? next.toISOString() : null,
    state: attrs.get(STATE_ATTRIBUTE) ?? 'processing',
  };
}
