import { ERROR, GHOST, ROOT, type JsonValue, type MailReference } from '../../core/mail';
import { IGNORE, MATCH_ALL, NO_MATCH, PROPAGATE, type CompiledGraph, type CompiledMatcher, type CompiledStep } from './model';

/** Bound on processor visits of one mail lineage; a longer path is a loop in the configuration. */
export const MAX_PROCESSOR_VISITS = 100;

type SimpleMatcher = Extract<CompiledMatcher, { kind: 'simple' }>;

/** How the walker runs matchers and mailets: in-process in an activity, plain calls in unit tests. */
export interface StepExecutor {
  /** Recipients of `mail` a simple matcher matches (and attributes it sets, e.g. AtMost's counter). */
  match(matcher: SimpleMatcher, step: CompiledStep, mail: MailReference): Promise<MatchOutcome>;
  /** Runs the step's mailet; returns the mail as the mailet left it (state, recipients, attributes, blob). */
  service(step: CompiledStep, mail: MailReference): Promise<MailReference>;
}

/**
 * Thrown by an executor to abandon the whole walk (e.g. a temporary failure the enclosing
 * activity retries): the walker lets it through instead of applying an exception mode.
 */
export class WalkAborted extends Error {
  constructor(readonly causeError: unknown) {
    super(`walk aborted: ${describeError(causeError)}`);
  }
}

/**
 * Attribute a mailet sets on the mail it returns when it handled some recipients and failed for
 * others (James' MailDispatcher: LocalDelivery over quota for one recipient). Its value is a
 * {@link FailedRecipients}. The walker removes it, ends nothing for the handled recipients, and
 * splits the failed ones off into their own mail, which the step's `onMailetException` handles
 * (default: the `error` processor, its error message set) as if the mailet had thrown for them only.
 */
export const FAILED_RECIPIENTS_ATTRIBUTE = 'postflow.failedRecipients';

export interface FailedRecipients {
  recipients: string[];
  error: string;
}

/** The mail a mailet returns when `failed` of its recipients could not be handled (see FAILED_RECIPIENTS_ATTRIBUTE). */
export function withFailedRecipients(mail: MailReference, failed: FailedRecipients): MailReference {
  if (failed.recipients.length === 0) return mail;
  const gone = new Set(failed.recipients);
  return {
    ...mail,
    recipients: mail.recipients.filter((r) => !gone.has(r)),
    attributes: { ...mail.attributes, [FAILED_RECIPIENTS_ATTRIBUTE]: { recipients: [...failed.recipients], error: failed.error } },
  };
}

/**
 * Separates a mailet's result into the handled mail and the failed recipients it reported, keeping
 * only failed recipients the mail had before the mailet ran (a malformed report fails nobody else).
 */
export function splitFailedRecipients(before: MailReference, after: MailReference): { mail: MailReference; failed: FailedRecipients | null } {
  const raw = after.attributes[FAILED_RECIPIENTS_ATTRIBUTE];
  if (raw === undefined) return { mail: after, failed: null };
  const attributes = { ...after.attributes };
  delete attributes[FAILED_RECIPIENTS_ATTRIBUTE];
  const mail = { ...after, attributes };
  const report = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {};
  const listed = new Set(Array.isArray(report.recipients) ? report.recipients.filter((r): r is string => typeof r === 'string') : []);
  const recipients = before.recipients.filter((r) => listed.has(r));
  if (recipients.length === 0) return { mail, failed: null };
  const error = typeof report.error === 'string' && report.error ? report.error : 'delivery failed for these recipients';
  return { mail: { ...mail, recipients: mail.recipients.filter((r) => !listed.has(r)) }, failed: { recipients, error } };
}

export type MatchOutcome = string[] | { recipients: string[]; attributes?: Record<string, JsonValue | null> };

export type StepOutcome = { ok: MailReference } | { error: string };

/** Where one mail (split) stands in the graph. */
export interface Position {
  mail: MailReference;
  processor: string;
  index: number;
  /** Processor visits of this lineage: bounds configuration loops and names splits uniquely. */
  visits: number;
  /** Outcome of the mailet of step `index`, when that mailet ran outside the walker. */
  outcome?: StepOutcome;
}

/** A matched mail waiting for a mailet that runs outside the walker (a durable activity). */
export interface Stop {
  mail: MailReference;
  processor: string;
  index: number;
  visits: number;
  step: CompiledStep;
}

/** A mail whose processing stopped on a failure nobody handles (`propagate`, error processor failing, loop). */
export interface Propagated {
  mail: MailReference;
  processor: string;
  message: string;
}

export type TraceEntry =
  | { event: 'processor'; mail: string; processor: string }
  | { event: 'split'; mail: string; into: string; processor: string; index: number; recipients: string[] }
  /**
   * `recipients` only when the mailet changed them (what it left): unchanged recipients are the
   * mail's as of its previous entry (or the workflow input), not repeated. The trace travels in the
   * batch's local activity marker, kept in the Temporal history: repeating 10 recipients on every
   * mailet entry was 40 % of a mail's history bytes.
   */
  | { event: 'mailet'; mail: string; processor: string; index: number; mailet: string; recipients?: string[]; state: string }
  | { event: 'error'; mail: string; processor: string; index: number; mailet: string; message: string; handling: string }
  | { event: 'match-error'; mail: string; processor: string; index: number; matcher: string; message: string; handling: string }
  | { event: 'end'; mail: string; processor: string; reason: 'ghost' | 'no-recipients' | 'end-of-processor' | 'propagated' };

export interface WalkOptions {
  /** Steps whose mailet must run outside the walker: the walk stops before them (after matching). */
  stopBefore?: (step: CompiledStep) => boolean;
}

export interface WalkResult {
  trace: TraceEntry[];
  stops: Stop[];
  propagated: Propagated[];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/** The position a freshly received (or reprocessed) mail starts at. */
export function initialPosition(mail: MailReference): Position {
  return { mail, processor: mail.state || ROOT, index: 0, visits: 0 };
}

/**
 * Walks mails through the processor graph with James semantics:
 * - a matcher matching only some recipients splits the mail: the matched part runs the mailet,
 *   the rest continues with the next step of the same processor under a new name;
 * - a mailet that changes the state moves the mail to that processor (`ToProcessor` is a goto);
 *   `ghost`, or no recipient left, ends processing; so does the end of a processor (James'
 *   terminating mailet ghosts it);
 * - a throwing mailet or matcher is handled by the step's `onMailetException` / `onMatchException`.
 * Pure and deterministic (split names derive from the lineage), so it runs the same inside an
 * activity, in a workflow, or in a unit test.
 */
export async function walkGraph(graph: CompiledGraph, start: Position[] | MailReference, executor: StepExecutor, options: WalkOptions = {}): Promise<WalkResult> {
  const result: WalkResult = { trace: [], stops: [], propagated: [] };
  const { trace } = result;
  const queue: Position[] = Array.isArray(start) ? [...start] : [initialPosition(start)];
  while (queue.length > 0) {
    const position = queue.shift() as Position;
    let { mail, processor, index, visits } = position;
    const propagate = (message: string) => {
      result.propagated.push({ mail: { ...mail, state: processor, errorMessage: message }, processor, message });
      trace.push({ event: 'end', mail: mail.name, processor, reason: 'propagated' });
    };
    /** Applies a mailet's outcome; returns false when this mail's walk ends. */
    const afterMailet = (step: CompiledStep, before: MailReference, outcome: StepOutcome): boolean => {
      let after: MailReference;
      if ('error' in outcome) {
        const handling = step.onMailetException;
        trace.push({ event: 'error', mail: before.name, processor, index, mailet: step.mailet, message: outcome.error, handling });
        if (handling === IGNORE) {
          after = before;
        } else if (handling === PROPAGATE || (processor === ERROR && handling === ERROR)) {
          mail = before;
          propagate(`${step.mailet} failed in processor ${processor}: ${outcome.error}`);
          return false;
        } else {
          after = { ...before, state: handling, errorMessage: outcome.error };
        }
      } else {
        const { mail: handled, failed } = splitFailedRecipients(before, outcome.ok);
        after = handled;
        if (failed) {
          const failedMail: MailReference = { ...before, name: `${before.name}-${visits}.${index + 1}-failed`, recipients: failed.recipients };
          trace.push({ event: 'split', mail: before.name, into: failedMail.name, processor, index, recipients: failed.recipients });
          queue.push({ mail: failedMail, processor, index, visits, outcome: { error: failed.error } });
        }
      }
      trace.push(
        sameList(before.recipients, after.recipients)
          ? { event: 'mailet', mail: before.name, processor, index, mailet: step.mailet, state: after.state }
          : { event: 'mailet', mail: before.name, processor, index, mailet: step.mailet, recipients: after.recipients, state: after.state },
      );
      mail = after;
      if (mail.state === GHOST) {
        trace.push({ event: 'end', mail: mail.name, processor, reason: 'ghost' });
        return false;
      }
      if (mail.recipients.length === 0) {
        trace.push({ event: 'end', mail: mail.name, processor, reason: 'no-recipients' });
        return false;
      }
      if (mail.state !== processor) return goTo(mail.state);
      index++;
      return true;
    };
    const goTo = (target: string): boolean => {
      visits++;
      if (visits > MAX_PROCESSOR_VISITS) {
        propagate(`Mail ${mail.name} exceeded ${MAX_PROCESSOR_VISITS} processor visits (loop in the processor graph?)`);
        return false;
      }
      processor = target;
      index = 0;
      mail = { ...mail, state: target };
      trace.push({ event: 'processor', mail: mail.name, processor });
      return true;
    };

    if (position.outcome) {
      const step = graph.processors[processor]?.[index];
      if (!step) {
        propagate(`Step ${index + 1} of processor ${processor} no longer exists`);
        continue;
      }
      if (!afterMailet(step, mail, position.outcome)) continue;
    } else if (index === 0) {
      trace.push({ event: 'processor', mail: mail.name, processor });
    }

    for (;;) {
      const steps = graph.processors[processor];
      if (!steps) {
        propagate(`Unknown processor ${processor}`);
        break;
      }
      if (index >= steps.length) {
        trace.push({ event: 'end', mail: mail.name, processor, reason: 'end-of-processor' });
        break;
      }
      const step = steps[index];
      let matchedByMatcher: string[];
      try {
        let attributes: Record<string, JsonValue | null> | null = null;
        matchedByMatcher = await evaluateMatcher(step.matcher, mail.recipients, async (leaf, recipients) => {
          const outcome = await executor.match(leaf, step, { ...mail, recipients });
          if (Array.isArray(outcome)) return outcome;
          if (outcome.attributes) attributes = { ...(attributes ?? {}), ...outcome.attributes };
          return outcome.recipients;
        });
        if (attributes) mail = { ...mail, attributes: applyAttributes(mail.attributes, attributes) };
      } catch (err) {
        if (err instanceof WalkAborted) throw err;
        const handling = step.onMatchException;
        trace.push({ event: 'match-error', mail: mail.name, processor, index, matcher: step.matcherSpec, message: describeError(err), handling });
        if (handling === MATCH_ALL) matchedByMatcher = mail.recipients;
        else if (handling === NO_MATCH) matchedByMatcher = [];
        else {
          mail = { ...mail, errorMessage: describeError(err) };
          if (processor === ERROR && handling === ERROR) {
            propagate(`Matcher ${step.matcherSpec} failed in processor ${processor}: ${describeError(err)}`);
            break;
          }
          if (!goTo(handling)) break;
          continue;
        }
      }
      const matchedSet = new Set(matchedByMatcher);
      const matched = mail.recipients.filter((r) => (step.notMatch ? !matchedSet.has(r) : matchedSet.has(r)));
      if (matched.length === 0) {
        index++;
        continue;
      }
      if (matched.length < mail.recipients.length) {
        const rest: MailReference = { ...mail, name: `${mail.name}-${visits}.${index + 1}`, recipients: mail.recipients.filter((r) => !matched.includes(r)) };
        trace.push({ event: 'split', mail: mail.name, into: rest.name, processor, index, recipients: rest.recipients });
        queue.push({ mail: rest, processor, index: index + 1, visits });
        mail = { ...mail, recipients: matched };
      }
      mail = { ...mail, state: processor };
      if (options.stopBefore?.(step)) {
        result.stops.push({ mail, processor, index, visits, step });
        break;
      }
      let outcome: StepOutcome;
      try {
        outcome = { ok: await executor.service(step, mail) };
      } catch (err) {
        if (err instanceof WalkAborted) throw err;
        outcome = { error: describeError(err) };
      }
      if (!afterMailet(step, mail, outcome)) break;
    }
  }
  return result;
}

/**
 * Evaluates a (composite) matcher over recipients with James semantics: And = intersection,
 * Or = union, Not = recipients no operand matches, Xor = recipients an odd number of operands match.
 */
export async function evaluateMatcher(
  matcher: CompiledMatcher,
  recipients: string[],
  leaf: (matcher: SimpleMatcher, recipients: string[]) => Promise<string[]>,
): Promise<string[]> {
  if (recipients.length === 0) return [];
  if (matcher.kind === 'simple') {
    const matched = new Set(await leaf(matcher, recipients));
    return recipients.filter((r) => matched.has(r));
  }
  switch (matcher.operator) {
    case 'And': {
      let current = recipients;
      for (const operand of matcher.operands) {
        if (current.length === 0) break;
        current = await evaluateMatcher(operand, current, leaf);
      }
      return current;
    }
    case 'Or':
    case 'Not': {
      const matched = new Set<string>();
      for (const operand of matcher.operands) {
        const remaining = recipients.filter((r) => !matched.has(r));
        if (remaining.length === 0) break;
        for (const r of await evaluateMatcher(operand, remaining, leaf)) matched.add(r);
      }
      return recipients.filter((r) => (matcher.operator === 'Or' ? matched.has(r) : !matched.has(r)));
    }
    case 'Xor': {
      const counts = new Map<string, number>();
      for (const operand of matcher.operands) {
        for (const r of await evaluateMatcher(operand, recipients, leaf)) counts.set(r, (counts.get(r) ?? 0) + 1);
      }
      return recipients.filter((r) => (counts.get(r) ?? 0) % 2 === 1);
    }
  }
}

/** Sets attributes; a null value removes the attribute. */
function applyAttributes(current: Record<string, JsonValue>, changes: Record<string, JsonValue | null>): Record<string, JsonValue> {
  const out = { ...current };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

export function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const cause = (err as { cause?: { message?: string } }).cause;
    if (cause?.message) return cause.message;
    const message = (err as { message?: string }).message;
    if (message) return message;
  }
  return String(err);
}
