import { ZodError } from 'zod';
import { PermanentError } from '../core/errors';
import { ERROR, GHOST, ROOT } from '../core/mail';
import type { AnyMailet, AnyMatcher } from './api';
import { MAILETS } from './catalogue/mailets';
import { MATCHERS } from './catalogue/matchers';
import {
  IGNORE,
  MATCH_ALL,
  NO_MATCH,
  PROPAGATE,
  type CompiledGraph,
  type CompiledMatcher,
  type CompiledStep,
  type CompositeMatcherConfig,
  type ProcessorGraph,
} from './graph/model';

export class GraphConfigError extends PermanentError {}

const COMPOSITE_OPERATORS = new Set(['And', 'Or', 'Not', 'Xor']);
const PROCESSOR_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Matchers and mailets by James name: the catalogue plus custom ones. */
export class MailetRegistry {
  private readonly matchers = new Map<string, AnyMatcher>();
  private readonly mailets = new Map<string, AnyMailet>();
  private readonly parsedParams = new Map<string, unknown>();
  private readonly parsedConditions = new Map<string, unknown>();

  constructor(matchers: AnyMatcher[] = MATCHERS, mailets: AnyMailet[] = MAILETS) {
    for (const m of matchers) this.registerMatcher(m);
    for (const m of mailets) this.registerMailet(m);
  }

  /** Adds a matcher; a custom one may replace a catalogue one of the same name. */
  registerMatcher(definition: AnyMatcher): void {
    if (!definition?.name || typeof definition.match !== 'function') throw new GraphConfigError('A matcher needs a name and a match function');
    this.matchers.set(definition.name, definition);
  }

  registerMailet(definition: AnyMailet): void {
    if (!definition?.name || typeof definition.service !== 'function') throw new GraphConfigError('A mailet needs a name and a service function');
    this.mailets.set(definition.name, definition);
  }

  matcherNames(): string[] {
    return [...this.matchers.keys()].sort();
  }

  mailetNames(): string[] {
    return [...this.mailets.keys()].sort();
  }

  matcher(name: string): AnyMatcher {
    const definition = this.matchers.get(name);
    if (!definition) throw new GraphConfigError(`Unknown matcher ${name}`);
    return definition;
  }

  mailet(name: string): AnyMailet {
    const definition = this.mailets.get(name);
    if (!definition) throw new GraphConfigError(`Unknown mailet ${name}`);
    return definition;
  }

  /** The parsed condition of a simple matcher (parsed once). */
  condition(name: string, raw: string | undefined): unknown {
    const key = `${name}=${raw ?? ''}`;
    if (!this.parsedConditions.has(key)) {
      const definition = this.matcher(name);
      this.parsedConditions.set(key, definition.condition ? definition.condition(raw) : raw);
    }
    return this.parsedConditions.get(key);
  }

  /** The step's parameters parsed by its mailet's schema (parsed once per step configuration). */
  params(step: Pick<CompiledStep, 'mailet' | 'params'>): unknown {
    const key = `${step.mailet}\u0000${JSON.stringify(step.params)}`;
    if (!this.parsedParams.has(key)) this.parsedParams.set(key, parseParams(this.mailet(step.mailet), step.params));
    return this.parsedParams.get(key);
  }

  /**
   * Validates the graph and resolves it for execution. Errors name the processor and the step:
   * missing root/error, an unknown processor target, an unknown matcher or mailet, a bad parameter.
   */
  compile(graph: ProcessorGraph): CompiledGraph {
    if (!graph || !Array.isArray(graph.processors)) throw new GraphConfigError('The processor graph has no processors');
    const names = new Set<string>();
    for (const processor of graph.processors) {
      if (!processor?.name || !PROCESSOR_NAME.test(processor.name)) throw new GraphConfigError(`Invalid processor name ${JSON.stringify(processor?.name)}`);
      if (processor.name === GHOST) throw new GraphConfigError('"ghost" is reserved: it ends processing and cannot be a processor');
      if (names.has(processor.name)) throw new GraphConfigError(`Processor ${processor.name} is defined twice`);
      names.add(processor.name);
    }
    for (const required of [ROOT, ERROR]) if (!names.has(required)) throw new GraphConfigError(`The processor graph has no "${required}" processor`);
    const checkTarget = (target: string | null | undefined, what: string) => {
      if (target !== undefined && target !== null && target !== GHOST && !names.has(target)) throw new Error(`${what}: unknown processor "${target}"`);
    };
    const globalComposites = indexComposites(graph.matchers ?? [], 'the graph');
    const processors: Record<string, CompiledStep[]> = {};
    for (const processor of graph.processors) {
      const composites = new Map([...globalComposites, ...indexComposites(processor.matchers ?? [], `processor ${processor.name}`)]);
      if (!Array.isArray(processor.steps)) throw new GraphConfigError(`Processor ${processor.name} has no step list`);
      processors[processor.name] = processor.steps.map((step, index) => {
        const where = `processor ${processor.name}, step ${index + 1} (${step?.matcher} → ${step?.mailet})`;
        try {
          if (typeof step?.matcher !== 'string' || step.matcher.trim() === '') throw new Error('"matcher" is required');
          if (typeof step.mailet !== 'string' || step.mailet.trim() === '') throw new Error('"mailet" is required');
          const matcher = this.resolveMatcher(step.matcher.trim(), composites, []);
          const mailet = this.mailet(step.mailet);
          const params = step.params ?? {};
          const parsed = parseParams(mailet, params);
          for (const target of mailet.processors?.(parsed) ?? []) checkTarget(target, 'parameter');
          const onMailetException = step.onMailetException ?? ERROR;
          if (![IGNORE, PROPAGATE].includes(onMailetException)) checkTarget(onMailetException, 'onMailetException');
          const onMatchException = step.onMatchException ?? ERROR;
          if (![MATCH_ALL, NO_MATCH].includes(onMatchException)) checkTarget(onMatchException, 'onMatchException');
          const execution = step.execution ?? mailet.execution ?? 'local';
          if (execution !== 'local' && execution !== 'activity') throw new Error(`execution must be "local" or "activity", not ${JSON.stringify(execution)}`);
          for (const key of ['timeoutMs', 'maxAttempts'] as const) {
            const value = step[key];
            if (value !== undefined && (!Number.isInteger(value) || value <= 0)) throw new Error(`${key} must be a positive integer`);
          }
          const compiled: CompiledStep = {
            processor: processor.name,
            index,
            matcher,
            matcherSpec: step.matcher.trim(),
            mailet: step.mailet,
            params,
            notMatch: step.notMatch === true,
            onMailetException,
            onMatchException,
            execution,
          };
          if (step.timeoutMs !== undefined) compiled.timeoutMs = step.timeoutMs;
          if (step.maxAttempts !== undefined) compiled.maxAttempts = step.maxAttempts;
          return compiled;
        } catch (err) {
          throw new GraphConfigError(`Invalid mailet configuration in ${where}: ${(err as Error).message}`);
        }
      });
    }
    return { processors };
  }

  private resolveMatcher(spec: string, composites: Map<string, CompositeMatcherConfig>, path: string[]): CompiledMatcher {
    const composite = composites.get(spec);
    if (composite) {
      if (path.includes(spec)) throw new Error(`composite matcher ${spec} refers to itself (${[...path, spec].join(' → ')})`);
      return {
        kind: 'composite',
        name: spec,
        operator: composite.operator,
        operands: composite.matchers.map((operand) => this.resolveMatcher(operand.trim(), composites, [...path, spec])),
      };
    }
    const eq = spec.indexOf('=');
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
    const condition = eq < 0 ? undefined : spec.slice(eq + 1);
    this.matcher(name);
    try {
      this.condition(name, condition);
    } catch (err) {
      throw new Error(`matcher ${name}: ${(err as Error).message}`);
    }
    return { kind: 'simple', name, condition };
  }
}

function indexComposites(list: CompositeMatcherConfig[], where: string): Map<string, CompositeMatcherConfig> {
  const out = new Map<string, CompositeMatcherConfig>();
  for (const composite of list) {
    if (!composite?.name) throw new GraphConfigError(`A composite matcher in ${where} has no name`);
    if (!COMPOSITE_OPERATORS.has(composite.operator)) {
      throw new GraphConfigError(`Composite matcher ${composite.name} in ${where}: operator must be And, Or, Not or Xor, not ${JSON.stringify(composite.operator)}`);
    }
    if (!Array.isArray(composite.matchers) || composite.matchers.length === 0) throw new GraphConfigError(`Composite matcher ${composite.name} in ${where} has no operand`);
    out.set(composite.name, composite);
  }
  return out;
}

function parseParams(mailet: AnyMailet, params: Record<string, unknown>): unknown {
  if (!mailet.params) return params;
  try {
    return mailet.params.parse(params);
  } catch (err) {
    if (err instanceof ZodError) {
      throw new Error(err.issues.map((i) => `parameter ${i.path.length > 0 ? `"${i.path.join('.')}"` : ''} ${i.message}`.replace(/\s+/g, ' ')).join('; '));
    }
    throw err;
  }
}
