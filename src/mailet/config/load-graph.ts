import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import YAML from 'yaml';
import type { CompositeMatcherConfig, ParamValue, ProcessorConfig, ProcessorGraph, StepConfig } from '../graph/model';
import { GraphConfigError } from '../registry';

/**
 * Reads a processor graph from a file: YAML or JSON in Postflow's shape
 * (`{ matchers?, processors: [{ name, matchers?, steps: [{ matcher, mailet, params, … }] }] }`),
 * or James' `mailetcontainer.xml` (`<processors><processor state=…><mailet match=… class=…>`).
 */
export function loadGraphFile(file: string): ProcessorGraph {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GraphConfigError(`Cannot read the mailet container configuration ${file}: ${(err as Error).message}`);
  }
  try {
    return /^\s*</.test(text) ? parseJamesXml(text) : parseGraphDocument(YAML.parse(text));
  } catch (err) {
    if (err instanceof GraphConfigError) throw new GraphConfigError(`${file}: ${err.message}`);
    throw new GraphConfigError(`Cannot parse the mailet container configuration ${file}: ${(err as Error).message}`);
  }
}

const STEP_KEYS = new Set(['matcher', 'notmatch', 'notMatch', 'mailet', 'params', 'onMailetException', 'onMatchException', 'execution', 'timeoutMs', 'maxAttempts']);

/** Checks the YAML/JSON document's shape (the registry checks names and parameters). */
export function parseGraphDocument(doc: unknown): ProcessorGraph {
  if (!isObject(doc)) throw new GraphConfigError('the top level must be a mapping with "processors"');
  const root = isObject(doc.mailetcontainer) ? doc.mailetcontainer : doc;
  const processors = root.processors;
  if (!Array.isArray(processors)) throw new GraphConfigError('"processors" must be a list');
  return {
    matchers: composites(root.matchers, 'the graph'),
    processors: processors.map((p, i): ProcessorConfig => {
      if (!isObject(p) || typeof p.name !== 'string') throw new GraphConfigError(`processor ${i + 1}: needs a "name"`);
      if (!Array.isArray(p.steps)) throw new GraphConfigError(`processor ${p.name}: "steps" must be a list`);
      return {
        name: p.name,
        matchers: composites(p.matchers, `processor ${p.name}`),
        steps: p.steps.map((s, j): StepConfig => {
          const where = `processor ${p.name}, step ${j + 1}`;
          if (!isObject(s)) throw new GraphConfigError(`${where}: must be a mapping`);
          for (const key of Object.keys(s)) if (!STEP_KEYS.has(key)) throw new GraphConfigError(`${where}: unknown key "${key}" (expected ${[...STEP_KEYS].join(', ')})`);
          // YAML reads a bare `Null` (James' mailet) as null.
          if ('mailet' in s && s.mailet === null) s.mailet = 'Null';
          const notMatch = s.notmatch ?? (typeof s.notMatch === 'string' ? s.notMatch : undefined);
          const matcher = typeof notMatch === 'string' ? notMatch : (s.matcher ?? 'All');
          if (typeof matcher !== 'string' || typeof s.mailet !== 'string') throw new GraphConfigError(`${where}: "matcher" (or "notmatch") and "mailet" must be strings`);
          if (s.params !== undefined && !isObject(s.params)) throw new GraphConfigError(`${where}: "params" must be a mapping`);
          const step: StepConfig = { matcher, mailet: s.mailet, params: (s.params ?? {}) as Record<string, ParamValue> };
          if (typeof notMatch === 'string' || s.notMatch === true) step.notMatch = true;
          for (const key of ['onMailetException', 'onMatchException'] as const) if (s[key] !== undefined) step[key] = String(s[key]);
          if (s.execution !== undefined) step.execution = s.execution as StepConfig['execution'];
          if (s.timeoutMs !== undefined) step.timeoutMs = Number(s.timeoutMs);
          if (s.maxAttempts !== undefined) step.maxAttempts = Number(s.maxAttempts);
          return step;
        }),
      };
    }),
  };
}

function composites(value: unknown, where: string): CompositeMatcherConfig[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new GraphConfigError(`${where}: "matchers" must be a list`);
  return value.map((m, i) => {
    if (!isObject(m) || typeof m.name !== 'string' || typeof m.operator !== 'string' || !Array.isArray(m.matchers)) {
      throw new GraphConfigError(`${where}: composite matcher ${i + 1} needs "name", "operator" and a "matchers" list`);
    }
    return { name: m.name, operator: m.operator as CompositeMatcherConfig['operator'], matchers: m.matchers.map(String) };
  });
}

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

/** James' mailetcontainer.xml: class names may be fully qualified; child elements are parameters. */
export function parseJamesXml(xml: string): ProcessorGraph {
  const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', trimValues: true, parseTagValue: false });
  const doc = parser.parse(xml) as XmlNode[];
  const container = findChild(doc, 'mailetcontainer');
  const processorsNode = findChild(container ? childrenOf(container, 'mailetcontainer') : doc, 'processors');
  if (!processorsNode) throw new GraphConfigError('no <processors> element');
  const processors: ProcessorConfig[] = [];
  for (const node of childrenOf(processorsNode, 'processors')) {
    if (!('processor' in node)) continue;
    const state = node[':@']?.state;
    if (!state) throw new GraphConfigError('a <processor> has no state attribute');
    const processor: ProcessorConfig = { name: state, steps: [], matchers: [] };
    let anonymous = 0;
    const composite = (element: XmlNode, name: string): CompositeMatcherConfig => {
      const match = element[':@']?.match ?? '';
      const operator = simpleName(match) as CompositeMatcherConfig['operator'];
      const operands = childrenOf(element, 'matcher')
        .filter((c) => 'matcher' in c)
        .map((c) => {
          const attrs = c[':@'] ?? {};
          if (childrenOf(c, 'matcher').some((g) => 'matcher' in g)) {
            const inner = composite(c, attrs.name ?? `${name}#${++anonymous}`);
            processor.matchers!.push(inner);
            return inner.name;
          }
          return attrs.name && !attrs.match ? attrs.name : matcherSpec(attrs.match ?? '');
        });
      return { name, operator, matchers: operands };
    };
    for (const child of childrenOf(node, 'processor')) {
      if ('matchers' in child) {
        for (const m of childrenOf(child, 'matchers')) if ('matcher' in m && m[':@']?.name) processor.matchers!.push(composite(m, m[':@'].name));
      } else if ('mailet' in child) {
        const attrs = child[':@'] ?? {};
        if (!attrs.class) throw new GraphConfigError(`processor ${state}: a <mailet> has no class attribute`);
        const step: StepConfig = { matcher: matcherSpec(attrs.notmatch ?? attrs.match ?? 'All'), mailet: simpleName(attrs.class), params: {} };
        if (attrs.notmatch) step.notMatch = true;
        for (const param of childrenOf(child, 'mailet')) {
          const [tag] = Object.keys(param).filter((k) => k !== ':@');
          if (!tag || tag === '#text') continue;
          const value = textOf(param, tag);
          if (tag === 'onMailetException') step.onMailetException = value;
          else if (tag === 'onMatchException') step.onMatchException = value;
          else {
            const existing = step.params![tag];
            step.params![tag] = existing === undefined ? value : `${existing},${value}`;
          }
        }
        processor.steps.push(step);
      }
    }
    processors.push(processor);
  }
  return { processors };
}

function findChild(nodes: XmlNode[], tag: string): XmlNode | undefined {
  return nodes.find((n) => tag in n);
}

function childrenOf(node: XmlNode, tag: string): XmlNode[] {
  const value = node[tag];
  return Array.isArray(value) ? (value as XmlNode[]) : [];
}

function textOf(node: XmlNode, tag: string): string {
  return childrenOf(node, tag)
    .map((c) => (typeof c['#text'] === 'string' || typeof c['#text'] === 'number' ? String(c['#text']) : ''))
    .join('')
    .trim();
}

/** `org.apache.james.transport.mailets.LocalDelivery` → `LocalDelivery`. */
function simpleName(className: string): string {
  return className.slice(className.lastIndexOf('.') + 1).trim();
}

/** `org.apache.james.transport.matchers.HostIs=a.org` → `HostIs=a.org`. */
function matcherSpec(match: string): string {
  const eq = match.indexOf('=');
  const name = eq < 0 ? match : match.slice(0, eq);
  return simpleName(name) + (eq < 0 ? '' : match.slice(eq));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
