import { PermanentError } from '../core/errors';
import { ERROR, ROOT } from '../core/mail';
import type { MailetDefinition, MatcherDefinition } from './api';
import { MAILETS } from './catalogue/mailets';
import { MATCHERS } from './catalogue/matchers';
import type { CompiledGraph, CompiledStep, ProcessorGraph } from './graph/model';

export class GraphConfigError extends PermanentError {}

/** Matchers and mailets by James name. */
export class MailetRegistry {
  private readonly matchers = new Map<string, MatcherDefinition>();
  private readonly mailets = new Map<string, MailetDefinition>();

  constructor(matchers: MatcherDefinition[] = MATCHERS, mailets: MailetDefinition[] = MAILETS) {
    for (const m of matchers) this.matchers.set(m.name, m);
    for (const m of mailets) this.mailets.set(m.name, m);
  }

  matcher(spec: string): { definition: MatcherDefinition; condition: string | undefined } {
    const { name, condition } = parseMatcherSpec(spec);
    const definition = this.matchers.get(name);
    if (!definition) throw new GraphConfigError(`Unknown matcher ${name}`);
    return { definition, condition };
  }

  mailet(name: string): MailetDefinition {
    const definition = this.mailets.get(name);
    if (!definition) throw new GraphConfigError(`Unknown mailet ${name}`);
    return definition;
  }

  /** Validates the graph (root and error exist, targets exist, names and parameters are valid). */
  compile(graph: ProcessorGraph): CompiledGraph {
    const names = new Set(graph.processors.map((p) => p.name));
    for (const required of [ROOT, ERROR]) if (!names.has(required)) throw new GraphConfigError(`The processor graph has no "${required}" processor`);
    const processors: Record<string, CompiledStep[]> = {};
    for (const processor of graph.processors) {
      if (processors[processor.name]) throw new GraphConfigError(`Processor ${processor.name} is defined twice`);
      processors[processor.name] = processor.steps.map((step, index) => {
        const where = `processor ${processor.name}, step ${index + 1} (${step.matcher} → ${step.mailet})`;
        try {
          this.matcher(step.matcher);
          const mailet = this.mailet(step.mailet);
          mailet.validate?.(step.params ?? {});
          const targets = [step.onMailetException, step.mailet === 'ToProcessor' ? step.params?.processor : undefined];
          for (const target of targets) {
            if (target !== undefined && !names.has(target)) throw new Error(`unknown processor "${target}"`);
          }
          return { ...step, processor: processor.name, index, execution: mailet.durable ? 'activity' : 'local' };
        } catch (err) {
          throw new GraphConfigError(`Invalid mailet configuration in ${where}: ${(err as Error).message}`);
        }
      });
    }
    return { processors };
  }
}

function parseMatcherSpec(spec: string): { name: string; condition: string | undefined } {
  const eq = spec.indexOf('=');
  return eq < 0 ? { name: spec.trim(), condition: undefined } : { name: spec.slice(0, eq).trim(), condition: spec.slice(eq + 1) };
}
