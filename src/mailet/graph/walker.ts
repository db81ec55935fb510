import { ERROR, GHOST, ROOT, type MailReference } from '../../core/mail';
import type { CompiledGraph, CompiledStep } from './model';

/** Bound on processor transitions of one mail split; a longer path is a configuration loop. */
export const MAX_PROCESSOR_TRANSITIONS = 100;

/** How the walker runs matchers and mailets: activities in the workflow, plain calls in unit tests. */
export interface StepExecutor {
  /** Returns the recipients of `mail` the step's matcher matches. */
  match(step: CompiledStep, mail: MailReference): Promise<string[]>;
  /** Runs the step's mailet; returns the mail as the mailet left it (state, recipients, attributes). */
  service(step: CompiledStep, mail: MailReference): Promise<MailReference>;
}

export type TraceEntry =
  | { event: 'processor'; mail: string; processor: string }
  | { event: 'split'; mail: string; into: string; processor: string; index: number; recipients: string[] }
  | { event: 'mailet'; mail: string; processor: string; index: number; mailet: string; recipients: string[]; state: string }
  | { event: 'error'; mail: string; processor: string; index: number; mailet: string; message: string }
  | { event: 'end'; mail: string; processor: string; reason: 'ghost' | 'no-recipients' | 'end-of-processor' };

interface Pending {
  mail: MailReference;
  processor: string;
  index: number;
}

/**
 * Walks a mail through the processor graph with James semantics:
 * - a matcher matching only some recipients splits the mail: the matched part runs the mailet,
 *   the rest continues with the next step of the same processor;
 * - a mailet that changes the state moves the mail to that processor (`ToProcessor`);
 *   `ghost` or no recipients left ends processing;
 * - a mail reaching the end of a processor ends there (James' terminating mailet ghosts it);
 * - a failing mailet sends the mail to its `onMailetException` processor (default `error`).
 * Deterministic: split names are derived from the parent name and a counter.
 */
export async function walkGraph(graph: CompiledGraph, initial: MailReference, executor: StepExecutor, trace: TraceEntry[] = []): Promise<TraceEntry[]> {
  const pending: Pending[] = [{ mail: initial, processor: initial.state || ROOT, index: 0 }];
  let splitCounter = 0;
  while (pending.length > 0) {
    const item = pending.shift() as Pending;
    let { mail, processor, index } = item;
    let transitions = 0;
    if (index === 0) trace.push({ event: 'processor', mail: mail.name, processor });
    for (;;) {
      const steps = graph.processors[processor];
      if (!steps) throw new Error(`Unknown processor ${processor}`);
      if (index >= steps.length) {
        trace.push({ event: 'end', mail: mail.name, processor, reason: 'end-of-processor' });
        break;
      }
      const step = steps[index];
      const matchedByMatcher = await executor.match(step, mail);
      const matched = step.notMatch ? mail.recipients.filter((r) => !matchedByMatcher.includes(r)) : mail.recipients.filter((r) => matchedByMatcher.includes(r));
      if (matched.length === 0) {
        index++;
        continue;
      }
      if (matched.length < mail.recipients.length) {
        splitCounter++;
        const rest: MailReference = { ...mail, name: `${mail.name}!${splitCounter}`, recipients: mail.recipients.filter((r) => !matched.includes(r)) };
        trace.push({ event: 'split', mail: mail.name, into: rest.name, processor, index, recipients: rest.recipients });
        pending.push({ mail: rest, processor, index: index + 1 });
        mail = { ...mail, recipients: matched };
      }
      let after: MailReference;
      try {
        after = await executor.service(step, { ...mail, state: processor });
      } catch (err) {
        const message = describe(err);
        trace.push({ event: 'error', mail: mail.name, processor, index, mailet: step.mailet, message });
        const target = step.onMailetException ?? ERROR;
        if (processor === ERROR && target === ERROR) throw err;
        after = { ...mail, state: target, errorMessage: message };
      }
      trace.push({ event: 'mailet', mail: mail.name, processor, index, mailet: step.mailet, recipients: after.recipients, state: after.state });
      mail = after;
      if (mail.state === GHOST) {
        trace.push({ event: 'end', mail: mail.name, processor, reason: 'ghost' });
        break;
      }
      if (mail.recipients.length === 0) {
        trace.push({ event: 'end', mail: mail.name, processor, reason: 'no-recipients' });
        break;
      }
      if (mail.state !== processor) {
        transitions++;
        if (transitions > MAX_PROCESSOR_TRANSITIONS) throw new Error(`Mail ${mail.name} exceeded ${MAX_PROCESSOR_TRANSITIONS} processor transitions (loop in the processor graph?)`);
        processor = mail.state;
        index = 0;
        trace.push({ event: 'processor', mail: mail.name, processor });
        continue;
      }
      index++;
    }
  }
  return trace;
}

function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const cause = (err as { cause?: { message?: string } }).cause;
    if (cause?.message) return cause.message;
    const message = (err as { message?: string }).message;
    if (message) return message;
  }
  return String(err);
}
