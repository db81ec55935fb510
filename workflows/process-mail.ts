import { defineQuery, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { MailActivities } from '../activities/mail-activities';
import type { MailReference } from '../src/core/mail';
import { walkGraph, type TraceEntry } from '../src/mailet/graph/walker';
import { DURABLE_STEP, LOCAL_STEP } from './lib/activity-options';

const local = proxyLocalActivities<MailActivities>(LOCAL_STEP);
const durable = proxyActivities<MailActivities>(DURABLE_STEP);

/** The path the mail took so far, step by step (also the workflow's result). */
export const traceQuery = defineQuery<TraceEntry[]>('trace');

export interface ProcessMailResult {
  mailId: string;
  trace: TraceEntry[];
}

/** One workflow per received mail (id `mail-<mailId>`): walks the processor graph. */
export async function processMail(mail: MailReference): Promise<ProcessMailResult> {
  const trace: TraceEntry[] = [];
  setHandler(traceQuery, () => trace);
  const graph = await local.loadProcessorGraph();
  try {
    await walkGraph(graph, mail, {
      match: (step, m) => local.matchRecipients(step, m),
      service: (step, m) => (step.execution === 'activity' ? durable.runMailet(step, m) : local.runMailet(step, m)),
    }, trace);
  } catch (err) {
    // Even the error processor failed: keep the mail in the error repository for an operator.
    await durable.storeInErrorRepository({ ...mail, state: 'error', errorMessage: err instanceof Error ? err.message : String(err) });
    trace.push({ event: 'end', mail: mail.name, processor: 'error', reason: 'ghost' });
  }
  return { mailId: workflowInfo().workflowId.replace(/^mail-/, ''), trace };
}
