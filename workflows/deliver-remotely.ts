import {
  condition,
  defineQuery,
  defineSignal,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { RemoteDeliveryActivities } from '../activities/remote-delivery-activities';
import type { OutgoingDelivery, RecipientFailure, SendAttemptResult } from '../src/core/outgoing';
import type { MailReference } from '../src/core/mail';
import { SMTP_SEND } from './lib/activity-options';
import { NEXT_ATTEMPT_ATTRIBUTE, NULL_SENDER, QUEUE_ATTRIBUTE, RECIPIENTS_ATTRIBUTE, recipientsAttributeValue, SENDER_ATTRIBUTE, SPOOL_QUEUE, STATE_ATTRIBUTE } from './lib/search-attributes';

export type OutgoingDeliveryInput = OutgoingDelivery;

/** Attribute holding the per-recipient failures on the mail sent to the bounce processor (DSNBounce reads it). */
export const DELIVERY_FAILURES_ATTRIBUTE = 'org.apache.james.remote-delivery.failures';

/** Releases a delayed mail now (WebAdmin flush: `PATCH /mailQueues/{q}/mails?delayed=true`). */
export const flushSignal = defineSignal('flush');

export interface DeliveryStatus {
  domain: string;
  attempt: number;
  state: 'sending' | 'delayed' | 'done';
  pending: string[];
  delivered: string[];
  failed: RecipientFailure[];
  /** Epoch ms of the next attempt while delayed. */
  nextAttempt: number | null;
  lastError: string | null;
}

export const deliveryStatusQuery = defineQuery<DeliveryStatus>('deliveryStatus');

/**
 * The outgoing queue entry of one mail for one destination domain (James' RemoteDelivery spool):
 * attempts SMTP delivery, waits on a durable timer between attempts with James' delays (flushable
 * by signal), delivers per recipient, and sends the permanently failed recipients to the bounce
 * processor (DSN to the sender). Replays never resend: each attempt is one recorded activity.
 */
export async function deliverRemotely(input: OutgoingDeliveryInput): Promise<DeliveryStatus> {
  const { settings, domain } = input;
  const send = proxyActivities<RemoteDeliveryActivities>({ ...SMTP_SEND, summary: `SMTP to ${domain}` });
  const status: DeliveryStatus = { domain, attempt: 0, state: 'sending', pending: [...input.mail.recipients], delivered: [], failed: [], nextAttempt: null, lastError: null };
  let flushRequested = false;
  setHandler(flushSignal, () => {
    flushRequested = true;
  });
  setHandler(deliveryStatusQuery, () => status);
  let dnsFailures = 0;
  while (status.pending.length > 0) {
    status.attempt++;
    let result: SendAttemptResult;
    try {
      result = await send.sendToDomain({ ...input.mail, recipients: status.pending }, domain, settings.gateway, settings.sendPartial);
    } catch (err) {
      const message = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      result = { delivered: [], permanent: [], dnsProblem: false, remoteMta: null, temporary: status.pending.map((recipient) => ({ recipient, status: '4.0.0', diagnostic: message, remoteMta: null })) };
    }
    status.delivered.push(...result.delivered);
    status.failed.push(...result.permanent);
    status.pending = result.temporary.map((t) => t.recipient);
    status.lastError = result.temporary[0]?.diagnostic ?? result.permanent[0]?.diagnostic ?? null;
    if (status.pending.length === 0) break;
    if (result.dnsProblem) dnsFailures++;
    const exhausted = result.dnsProblem ? dnsFailures > settings.maxDnsProblemRetries : status.attempt > settings.maxRetries;
    if (exhausted) {
      // James: once retries are exhausted the last temporary failure is final.
      status.failed.push(...result.temporary.map((t) => ({ ...t, status: t.status.replace(/^4\./, '5.') })));
      status.pending = [];
      break;
    }
    const delay = settings.delaysMs.length === 0 ? 0 : settings.delaysMs[Math.min(status.attempt - 1, settings.delaysMs.length - 1)];
    status.state = 'delayed';
    status.nextAttempt = Date.now() + delay;
    upsertSearchAttributes([
      { key: STATE_ATTRIBUTE, value: 'delayed' },
      { key: NEXT_ATTEMPT_ATTRIBUTE, value: new Date(status.nextAttempt) },
      { key: RECIPIENTS_ATTRIBUTE, value: recipientsAttributeValue(status.pending) },
    ]);
    flushRequested = false;
    await condition(() => flushRequested, delay);
    status.state = 'sending';
    status.nextAttempt = null;
    upsertSearchAttributes([
      { key: STATE_ATTRIBUTE, value: 'sending' },
      { key: NEXT_ATTEMPT_ATTRIBUTE, value: null },
    ]);
  }
  status.state = 'done';
  if (status.failed.length > 0 && settings.bounceProcessor) await bounce(input.mail, status.failed, settings.bounceProcessor);
  return status;
}

/** Sends the failed recipients' share of the mail to the bounce processor (a new processMail). */
async function bounce(original: MailReference, failed: RecipientFailure[], processor: string): Promise<void> {
  const mailId = uuid4();
  const mail: MailReference = {
    ...original,
    mailId,
    name: mailId,
    recipients: failed.map((f) => f.recipient),
    state: processor,
    errorMessage: failed.map((f) => `${f.recipient}: ${f.diagnostic}`).join('; '),
    attributes: { ...original.attributes, [DELIVERY_FAILURES_ATTRIBUTE]: failed.map((f) => ({ ...f })) },
  };
  await startChild('processMail', {
    workflowId: `mail-${mailId}`,
    args: [mail],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `bounce of ${workflowInfo().workflowId}`,
    typedSearchAttributes: [
      { key: QUEUE_ATTRIBUTE, value: SPOOL_QUEUE },
      { key: STATE_ATTRIBUTE, value: 'processing' },
      { key: SENDER_ATTRIBUTE, value: mail.sender ?? NULL_SENDER },
      { key: RECIPIENTS_ATTRIBUTE, value: recipientsAttributeValue(mail.recipients) },
    ],
  });
}
