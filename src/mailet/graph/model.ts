/**
 * The processor graph (James' mailetcontainer.xml): named processors, each an ordered list of
 * (matcher, mailet) steps. Pure module: the processMail workflow imports it.
 */
export interface StepConfig {
  /** Matcher name, optionally with a condition: `HostIs=example.com` (James syntax). */
  matcher: string;
  mailet: string;
  params?: Record<string, string>;
  /** Run the mailet on the recipients the matcher did NOT match (James `notmatch`). */
  notMatch?: boolean;
  /** Processor that receives the mail when the mailet keeps failing (default `error`). */
  onMailetException?: string;
}

export interface ProcessorConfig {
  name: string;
  steps: StepConfig[];
}

export interface ProcessorGraph {
  processors: ProcessorConfig[];
}

/** A step resolved for execution: where it sits and whether its mailet needs a durable activity. */
export interface CompiledStep extends StepConfig {
  processor: string;
  index: number;
  /** `activity` for mailets with side effects worth a durable, separately retried activity. */
  execution: 'local' | 'activity';
}

export interface CompiledGraph {
  processors: Record<string, CompiledStep[]>;
}
