/**
 * The processor graph (James' mailetcontainer.xml): named processors, each an ordered list of
 * (matcher, mailet) steps, plus named composite matchers. Pure module: the processMail workflow
 * imports it.
 */

/** Parameter values as written in the configuration (James' XML parameters are strings). */
export type ParamValue = string | number | boolean | string[];

/**
 * What happens when a mailet throws (James `onMailetException`):
 * - a processor name (default `error`): the mail goes there, its error message set;
 * - `ignore`: the mail goes on to the next step as if the mailet had not run;
 * - `propagate`: the processing of this mail stops and the mail is kept in `var/mail/error/`.
 */
export type OnMailetException = string;

/**
 * What happens when a matcher throws (James `onMatchException`):
 * - a processor name (default `error`); `matchall`: every recipient matches; `nomatch`: none does.
 */
export type OnMatchException = string;

export const IGNORE = 'ignore';
export const PROPAGATE = 'propagate';
export const MATCH_ALL = 'matchall';
export const NO_MATCH = 'nomatch';

export interface StepConfig {
  /** Matcher name with an optional condition (`HostIs=example.com`), or a composite matcher's name. */
  matcher: string;
  mailet: string;
  params?: Record<string, ParamValue>;
  /** Run the mailet on the recipients the matcher did NOT match (James `notmatch`). */
  notMatch?: boolean;
  onMailetException?: OnMailetException;
  onMatchException?: OnMatchException;
  /**
   * Where the mailet runs: `local` (in the processor's batch, the default for mailets without
   * durable side effects) or `activity` (its own durable, separately retried Temporal activity).
   */
  execution?: 'local' | 'activity';
  /** Activity start-to-close timeout of this step when it runs as an activity (ms). */
  timeoutMs?: number;
  /** Attempts of this step's activity before its exception mode applies. */
  maxAttempts?: number;
}

/** A composite matcher (James `<matchers><matcher name=… match="Or">`). */
export interface CompositeMatcherConfig {
  name: string;
  operator: 'And' | 'Or' | 'Not' | 'Xor';
  /** Operands: matcher specs (`HostIs=a.org`) or names of other composite matchers. */
  matchers: string[];
}

export interface ProcessorConfig {
  name: string;
  steps: StepConfig[];
  /** Composite matchers visible in this processor only (James declares them per processor). */
  matchers?: CompositeMatcherConfig[];
}

export interface ProcessorGraph {
  /** Composite matchers visible in every processor. */
  matchers?: CompositeMatcherConfig[];
  processors: ProcessorConfig[];
}

/** A matcher tree resolved at start-up. */
export type CompiledMatcher =
  | { kind: 'simple'; name: string; condition: string | undefined }
  | { kind: 'composite'; name: string; operator: CompositeMatcherConfig['operator']; operands: CompiledMatcher[] };

/** A step resolved for execution: where it sits and how its mailet runs. */
export interface CompiledStep {
  processor: string;
  index: number;
  matcher: CompiledMatcher;
  /** The matcher as written, for traces and the Temporal UI. */
  matcherSpec: string;
  mailet: string;
  params: Record<string, ParamValue>;
  notMatch: boolean;
  onMailetException: OnMailetException;
  onMatchException: OnMatchException;
  execution: 'local' | 'activity';
  timeoutMs?: number;
  maxAttempts?: number;
}

export interface CompiledGraph {
  processors: Record<string, CompiledStep[]>;
}

/** `processor#index mailet` — how a step is named in traces and activity summaries. */
export function stepLabel(step: Pick<CompiledStep, 'processor' | 'index' | 'mailet'>): string {
  return `${step.processor}#${step.index + 1} ${step.mailet}`;
}
