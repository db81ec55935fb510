import { GHOST, type MailReference } from '../../../src/core/mail';
import type { CompiledGraph, CompiledStep, ProcessorGraph } from '../../../src/mailet/graph/model';
import { walkGraph, type StepExecutor } from '../../../src/mailet/graph/walker';
import { MailetRegistry } from '../../../src/mailet/registry';
import { DEFAULT_GRAPH } from '../../../src/mailet/graph/default-graph';

function mail(recipients: string[]): MailReference {
  return {
    mailId: 'm1', name: 'm1', sender: 'a@remote.org', recipients, messageBlobId: 'b'.repeat(64), size: 10, state: 'root',
    remoteAddr: '127.0.0.1', remoteHost: 'localhost', authUser: null, receivedAt: '2026-01-01T00:00:00.000Z', attributes: {}, errorMessage: null,
  };
}

/** Executor for tests: matchers are predicates on recipients, mailets record what they saw. */
function executor(matchers: Record<string, (r: string) => boolean>, failing: Set<string> = new Set()) {
  const served: Array<{ mailet: string; processor: string; recipients: string[]; name: string }> = [];
  const exec: StepExecutor = {
    async match(step: CompiledStep, m: MailReference) {
      const predicate = matchers[step.matcher] ?? (() => true);
      return m.recipients.filter(predicate);
    },
    async service(step: CompiledStep, m: MailReference) {
      served.push({ mailet: step.mailet, processor: step.processor, recipients: m.recipients, name: m.name });
      if (failing.has(step.mailet)) throw new Error(`${step.mailet} failed`);
      if (step.mailet === 'ToProcessor') return { ...m, state: step.params?.processor ?? 'error' };
      if (step.mailet === 'Deliver' || step.mailet === 'Store') return { ...m, state: GHOST };
      return m;
    },
  };
  return { exec, served };
}

function compile(graph: ProcessorGraph): CompiledGraph {
  const processors: CompiledGraph['processors'] = {};
  for (const p of graph.processors) processors[p.name] = p.steps.map((s, index) => ({ ...s, processor: p.name, index, execution: 'local' }));
  return { processors };
}

const graph = compile({
  processors: [
    { name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'transport' } }] },
    {
      name: 'transport',
      steps: [
        { matcher: 'IsLocal', mailet: 'Deliver' },
        { matcher: 'All', mailet: 'ToProcessor', params: { processor: 'relay-denied' } },
      ],
    },
    { name: 'relay-denied', steps: [{ matcher: 'All', mailet: 'Store' }] },
    { name: 'error', steps: [{ matcher: 'All', mailet: 'Store' }] },
  ],
});

describe('walkGraph', () => {
  it('splits the mail when only some recipients match', async () => {
    const { exec, served } = executor({ IsLocal: (r) => r.endsWith('@local.org') });
    await walkGraph(graph, mail(['a@local.org', 'b@remote.org']), exec);
    expect(served.filter((s) => s.mailet === 'Deliver')).toEqual([{ mailet: 'Deliver', processor: 'transport', recipients: ['a@local.org'], name: 'm1' }]);
    const stored = served.filter((s) => s.mailet === 'Store');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ processor: 'relay-denied', recipients: ['b@remote.org'] });
    expect(stored[0].name).not.toBe('m1');
  });

  it('does not split when every recipient matches', async () => {
    const { exec, served } = executor({ IsLocal: () => true });
    const trace = await walkGraph(graph, mail(['a@local.org', 'c@local.org']), exec);
    expect(served.map((s) => s.mailet)).toEqual(['ToProcessor', 'Deliver']);
    expect(trace.some((t) => t.event === 'split')).toBe(false);
  });

  it('runs a notMatch step on the recipients the matcher did not match', async () => {
    const g = compile({
      processors: [
        { name: 'root', steps: [{ matcher: 'IsLocal', mailet: 'Deliver', notMatch: true }] },
        { name: 'error', steps: [] },
      ],
    });
    const { exec, served } = executor({ IsLocal: (r) => r.endsWith('@local.org') });
    await walkGraph(g, mail(['a@local.org', 'b@remote.org']), exec);
    expect(served).toEqual([{ mailet: 'Deliver', processor: 'root', recipients: ['b@remote.org'], name: 'm1' }]);
  });

  it('sends the mail to the error processor when a mailet fails', async () => {
    const { exec, served } = executor({ IsLocal: () => true }, new Set(['Deliver']));
    const trace = await walkGraph(graph, mail(['a@local.org']), exec);
    expect(served.at(-1)).toMatchObject({ mailet: 'Store', processor: 'error' });
    expect(trace).toContainEqual(expect.objectContaining({ event: 'error', mailet: 'Deliver', message: 'Deliver failed' }));
  });

  it('ends a mail that reaches the end of a processor', async () => {
    const g = compile({ processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'Noop' }] }, { name: 'error', steps: [] }] });
    const { exec } = executor({});
    const trace = await walkGraph(g, mail(['a@local.org']), exec);
    expect(trace.at(-1)).toEqual({ event: 'end', mail: 'm1', processor: 'root', reason: 'end-of-processor' });
  });

  it('stops a configuration loop instead of running forever', async () => {
    const g = compile({
      processors: [
        { name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'other' } }] },
        { name: 'other', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'root' } }] },
        { name: 'error', steps: [] },
      ],
    });
    const { exec } = executor({});
    await expect(walkGraph(g, mail(['a@local.org']), exec)).rejects.toThrow(/processor transitions/);
  });

  it('rethrows when the error processor itself fails', async () => {
    const { exec } = executor({ IsLocal: () => true }, new Set(['Deliver', 'Store']));
    await expect(walkGraph(graph, mail(['a@local.org']), exec)).rejects.toThrow('Store failed');
  });
});

describe('MailetRegistry.compile', () => {
  const registry = new MailetRegistry();

  it('compiles the default graph, marking side-effect mailets as durable activities', () => {
    const compiled = registry.compile(DEFAULT_GRAPH);
    expect(compiled.processors['local-delivery'][0]).toMatchObject({ mailet: 'LocalDelivery', execution: 'activity' });
    expect(compiled.processors.root[0]).toMatchObject({ mailet: 'ToProcessor', execution: 'local' });
  });

  it('refuses a graph without root or error processor', () => {
    expect(() => registry.compile({ processors: [{ name: 'root', steps: [] }] })).toThrow('no "error" processor');
  });

  it('names the processor and position of an unknown mailet', () => {
    const bad = { processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'Nope' }] }, { name: 'error', steps: [] }] };
    expect(() => registry.compile(bad)).toThrow('processor root, step 1 (All → Nope): Unknown mailet Nope');
  });

  it('refuses a ToProcessor to an unknown processor and a missing parameter', () => {
    const unknown = { processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'nowhere' } }] }, { name: 'error', steps: [] }] };
    expect(() => registry.compile(unknown)).toThrow('unknown processor "nowhere"');
    const missing = { processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'ToRepository' }] }, { name: 'error', steps: [] }] };
    expect(() => registry.compile(missing)).toThrow('repositoryPath');
  });

  it('refuses an unknown matcher', () => {
    const bad = { processors: [{ name: 'root', steps: [{ matcher: 'Bogus=1', mailet: 'Null' }] }, { name: 'error', steps: [] }] };
    expect(() => registry.compile(bad)).toThrow('Unknown matcher Bogus');
  });
});
