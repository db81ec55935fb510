import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { MailActivities } from '../activities/mail-activities';
import type { OutgoingDeliveryInput } from './deliver-remotely';
import { mailKey, type MailReference } from '../src/core/mail';
import { stepLabel } from '../src/mailet/graph/model';
import { describeError, initialPosition, type Position, type Stop, type TraceEntry } from '../src/mailet/graph/walker';
import { DURABLE_STEP, LOCAL_BATCH, REPOSITORY_WRITE } from './lib/activity-options';
import { NULL_SENDER, OUTGOING_QUEUE, QUEUE_ATTRIBUTE, RECIPIENTS_ATTRIBUTE, recipientsAttributeValue, SENDER_ATTRIBUTE, STATE_ATTRIBUTE } from './lib/search-attributes';

const repository = proxyLocalActivities<MailActivities>({ ...REPOSITORY_WRITE, summary: 'keep the mail in var/mail/error/' });

/**
 * The path the mail took so far, step by step. On a closed workflow too: the worker replays its
 * history (the Temporal UI's Queries tab, `temporal workflow query --name trace`).
 */
export const traceQuery = defineQuery<TraceEntry[]>('trace');

/** Where one part of the mail ended (a split mail has one per part). */
export type MailEnd = Extract<TraceEntry, { event: 'end' }>;

/**
 * The workflow's result: where each part of the mail ended and how many steps its path had. The
 * path itself is kept once in the history, in the local activity markers of the batches that walked
 * it, and the `trace` query returns it whole. A copy of it in the result made up 1.5 KB of the
 * 5.4 KB of history a mail to 10 recipients wrote (docs/performance.md, stop 17).
 */
export interface ProcessMailResult {
  mailId: string;
  ends: MailEnd[];
  steps: number;
}

/**
 * One workflow per received mail (id `mail-<mailId>`): walks the processor graph. Matchers and
 * `local` mailets run in batches (one local activity per batch); `activity` mailets each run as a
 * durable activity whose summary names the processor and mailet; RemoteDelivery starts one
 * `deliverRemotely` child per destination domain (the outgoing queue). Nothing is lost: a mail no
 * processor can take is kept in the error repository.
 */
export async function processMail(mail: MailReference): Promise<ProcessMailResult> {
  const trace: TraceEntry[] = [];
  setHandler(traceQuery, () => trace);
  let positions: Position[] = [initialPosition(mail)];
  while (positions.length > 0) {
    let advanced;
    try {
      const from = positions.map((p) => `${p.processor}#${p.index + 1}`).join(', ');
      advanced = await proxyLocalActivities<MailActivities>({ ...LOCAL_BATCH, summary: `matchers and local mailets from ${from}` }).advance(positions, LOCAL_BATCH.retry?.maximumAttempts ?? 1);
    } catch (err) {
      // The batch kept failing on every attempt (a hung local mailet, a store down for long).
      for (const p of positions) await keep({ ...p.mail, state: p.processor, errorMessage: describeError(err) }, trace);
      break;
    }
    trace.push(...advanced.trace);
    // Every promise made in a workflow costs the SDK a captured, source-mapped stack trace (its
    // stack-trace query): the common mail (no remote domain, no stop) makes none here.
    if (advanced.outgoing.length > 0) await startOutgoing(advanced.outgoing);
    for (const p of advanced.propagated) await keep(p.mail, trace);
    positions = advanced.stops.length === 0 ? [] : await Promise.all(advanced.stops.map((stop) => runStop(stop)));
  }
  return { mailId: mail.mailId, ends: trace.filter((entry): entry is MailEnd => entry.event === 'end'), steps: trace.length };
}

async function keep(mail: MailReference, trace: TraceEntry[]): Promise<void> {
  await repository.storeInErrorRepository(mail);
  trace.push({ event: 'end', mail: mail.name, processor: mail.state, reason: 'propagated' });
}

/** Runs a mailet outside the batch; its outcome (or failure) goes back to the walker. */
async function runStop(stop: Stop): Promise<Position> {
  const { step } = stop;
  const summary = `${stepLabel(step)} → ${stop.mail.recipients.length} recipient(s)`;
  try {
    const result =
      step.execution === 'activity'
        ? await proxyActivities<MailActivities>({
            ...DURABLE_STEP,
            startToCloseTimeout: step.timeoutMs ?? DURABLE_STEP.startToCloseTimeout,
            retry: { ...DURABLE_STEP.retry, maximumAttempts: step.maxAttempts ?? DURABLE_STEP.retry?.maximumAttempts },
            summary,
          }).runMailet(step, stop.mail)
        : await proxyLocalActivities<MailActivities>({ ...LOCAL_BATCH, summary }).runMailet(step, stop.mail);
    if (result.outgoing.length > 0) await startOutgoing(result.outgoing);
    return { mail: stop.mail, processor: stop.processor, index: stop.index, visits: stop.visits, outcome: { ok: result.mail } };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return { mail: stop.mail, processor: stop.processor, index: stop.index, visits: stop.visits, outcome: { error: failureMessage(err) } };
  }
}

function failureMessage(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.message;
  if (cause && cause.name === 'TimeoutFailure') return `${err.activityType} timed out (${(cause as { timeoutType?: unknown }).timeoutType ?? 'timeout'})`;
  return describeError(err);
}

/** Starts the outgoing queue's workflows (one per destination domain); they outlive this mail. */
async function startOutgoing(outgoing: OutgoingDeliveryInput[]): Promise<void> {
  for (const delivery of outgoing) {
    try {
      await startChild('deliverRemotely', {
        workflowId: outgoingWorkflowId(delivery),
        args: [delivery],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `${delivery.settings.queue}: ${delivery.mail.sender ?? NULL_SENDER} → ${delivery.domain} (${delivery.mail.recipients.length} recipient(s))`,
        typedSearchAttributes: [
          { key: QUEUE_ATTRIBUTE, value: delivery.settings.queue || OUTGOING_QUEUE },
          { key: STATE_ATTRIBUTE, value: 'sending' },
          { key: SENDER_ATTRIBUTE, value: delivery.mail.sender ?? NULL_SENDER },
          { key: RECIPIENTS_ATTRIBUTE, value: recipientsAttributeValue(delivery.mail.recipients) },
        ],
      });
    } catch (err) {
      // Already queued by an earlier run of this mail (reprocessing): one delivery is enough.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}

/** `outgoing-<mailId>/<name>-<domain>`: one delivery per mail split and domain, whatever replays. */
export function outgoingWorkflowId(delivery: OutgoingDeliveryInput): string {
  return `outgoing-${mailKey(delivery.mail)}-${delivery.domain}`;
}
