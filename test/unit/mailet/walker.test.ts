import { GHOST, type MailReference } from '../../../src/core/mail';
import type { CompiledStep, ProcessorGraph } from '../../../src/mailet/graph/model';
import { walkGraph, WalkAborted, type StepExecutor, type Position } from '../../../src/mailet/graph/walker';
import { MailetRegistry } from '../../../src/mailet/registry';
import { defineMailet, defineMatcher } from '../../../src/mailet/api';
import { DEFAULT_GRAPH } from '../../../src/mailet/graph/default-graph';

function mail(recipients: string[]): MailReference {
  return {
    mailId: 'm1', name: 'm1', sender: 'a@remote.org', recipients, messageBlobId: 'b'.repeat(64), size: 10, state: 'root',
    remoteAddr: '127.0.0.1', remoteHost: 'localhost', authUser: null, receivedAt: '2026-01-01T00:00:00.000Z', attributes: {}, errorMessage: null,
  };
}

const isLocal = (r: string) => r.endsWith('@local.org');
const served: Array<{ mailet: string; processor: string; recipients: string[]; name: string }> = [];

/** Test catalogue: matchers are predicates on recipients; mailets record what they saw. */
const registry = new MailetRegistry(
  [
    defineMatcher({ name: 'All', match: async (m) => m.recipients }),
    defineMatcher({ name: 'IsLocal', match: async (m) => m.recipients.filter(isLocal) }),
    defineMatcher({ name: 'StartsWith', match: async (m, _c, prefix) => m.recipients.filter((r) => r.startsWith(String(prefix))) }),
    defineMatcher({ name: 'Throws', match: async () => { throw new Error('matcher exploded'); } }),
  ],
  [
    defineMailet({ name: 'ToProcessor', processors: (p) => [String(p.processor)], service: async (m, _c, p) => ({ ...m, state: String(p.processor) }) }),
    defineMailet({ name: 'Deliver', service: async (m) => ({ ...m, state: GHOST }) }),
    defineMailet({ name: 'Store', service: async (m) => ({ ...m, state: GHOST }) }),
    defineMailet({ name: 'Noop', service: async (m) => m }),
    defineMailet({ name: 'Reorder', service: async (m) => ({ ...m, recipients: [...m.recipients].reverse() }) }),
    defineMailet({ name: 'KeepLocal', service: async (m) => ({ ...m, recipients: m.recipients.filter(isLocal) }) }),
    defineMailet({ name: 'Boom', service: async () => { throw new Error('mailet exploded'); } }),
    defineMailet({ name: 'Durable', execution: 'activity', service: async (m) => ({ ...m, state: GHOST }) }),
  ],
);

const executor: StepExecutor = {
  async match(leaf, step, m) {
    return registry.matcher(leaf.name).match(m, undefined as never, registry.condition(leaf.name, leaf.condition));
  },
  async service(step: CompiledStep, m) {
    served.push({ mailet: step.mailet, processor: step.processor, recipients: m.recipients, name: m.name });
    return registry.mailet(step.mailet).service(m, undefined as never, registry.params(step));
  },
};

function graph(processors: ProcessorGraph['processors'], matchers?: ProcessorGraph['matchers']) {
  const names = processors.map((p) => p.name);
  const all = [...processors];
  if (!names.includes('root')) all.push({ name: 'root', steps: [] });
  if (!names.includes('error')) all.push({ name: 'error', steps: [{ matcher: 'All', mailet: 'Store' }] });
  return registry.compile({ processors: all, matchers });
}

const transport = graph([
  { name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'transport' } }] },
  {
    name: 'transport',
    steps: [
      { matcher: 'IsLocal', mailet: 'Deliver' },
      { matcher: 'All', mailet: 'ToProcessor', params: { processor: 'relay-denied' } },
    ],
  },
  { name: 'relay-denied', steps: [{ matcher: 'All', mailet: 'Store' }] },
]);

beforeEach(() => {
  served.length = 0;
});

describe('walkGraph', () => {
  it('splits the mail when only some recipients match', async () => {
    await walkGraph(transport, mail(['a@local.org', 'b@remote.org']), executor);
    expect(served.filter((s) => s.mailet === 'Deliver')).toEqual([{ mailet: 'Deliver', processor: 'transport', recipients: ['a@local.org'], name: 'm1' }]);
    const stored = served.filter((s) => s.mailet === 'Store');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ processor: 'relay-denied', recipients: ['b@remote.org'] });
    expect(stored[0].name).not.toBe('m1');
  });

  it('does not split when every recipient matches', async () => {
    const { trace } = await walkGraph(transport, mail(['a@local.org', 'c@local.org']), executor);
    expect(served.map((s) => s.mailet)).toEqual(['ToProcessor', 'Deliver']);
    expect(trace.some((t) => t.event === 'split')).toBe(false);
  });

  it('lists the recipients in a mailet trace entry only when the mailet changed them', async () => {
    const g = graph([
      {
        name: 'root',
        steps: [
          { matcher: 'All', mailet: 'Noop' },
          { matcher: 'All', mailet: 'KeepLocal' },
          { matcher: 'All', mailet: 'Noop' },
          { matcher: 'All', mailet: 'Reorder' },
          { matcher: 'All', mailet: 'Deliver' },
        ],
      },
    ]);
    const { trace } = await walkGraph(g, mail(['a@local.org', 'b@remote.org', 'c@local.org']), executor);
    const mailets = trace.filter((t) => t.event === 'mailet');
    expect(mailets).toEqual([
      { event: 'mailet', mail: 'm1', processor: 'root', index: 0, mailet: 'Noop', state: 'root' },
      { event: 'mailet', mail: 'm1', processor: 'root', index: 1, mailet: 'KeepLocal', recipients: ['a@local.org', 'c@local.org'], state: 'root' },
      { event: 'mailet', mail: 'm1', processor: 'root', index: 2, mailet: 'Noop', state: 'root' },
      // Same addresses in another order is a change: the order is what later mailets see.
      { event: 'mailet', mail: 'm1', processor: 'root', index: 3, mailet: 'Reorder', recipients: ['c@local.org', 'a@local.org'], state: 'root' },
      { event: 'mailet', mail: 'm1', processor: 'root', index: 4, mailet: 'Deliver', state: 'ghost' },
    ]);
  });

  it('lists an emptied recipient list, then ends the mail', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'All', mailet: 'KeepLocal' }, { matcher: 'All', mailet: 'Deliver' }] }]);
    const { trace } = await walkGraph(g, mail(['b@remote.org']), executor);
    expect(trace).toContainEqual({ event: 'mailet', mail: 'm1', processor: 'root', index: 0, mailet: 'KeepLocal', recipients: [], state: 'root' });
    expect(trace.at(-1)).toEqual({ event: 'end', mail: 'm1', processor: 'root', reason: 'no-recipients' });
  });

  it('runs a notMatch step on the recipients the matcher did not match', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'IsLocal', mailet: 'Deliver', notMatch: true }] }]);
    await walkGraph(g, mail(['a@local.org', 'b@remote.org']), executor);
    expect(served).toEqual([{ mailet: 'Deliver', processor: 'root', recipients: ['b@remote.org'], name: 'm1' }]);
  });

  it('jumps with ToProcessor and ends on ghost without running later steps', async () => {
    const g = graph([
      { name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'other' } }, { matcher: 'All', mailet: 'Boom' }] },
      { name: 'other', steps: [{ matcher: 'All', mailet: 'Deliver' }, { matcher: 'All', mailet: 'Boom' }] },
    ]);
    const { trace } = await walkGraph(g, mail(['a@local.org']), executor);
    expect(served.map((s) => `${s.processor}:${s.mailet}`)).toEqual(['root:ToProcessor', 'other:Deliver']);
    expect(trace.at(-1)).toEqual({ event: 'end', mail: 'm1', processor: 'other', reason: 'ghost' });
  });

  it('sends the mail to the error processor when a mailet fails (default onMailetException)', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'All', mailet: 'Boom' }] }]);
    const { trace } = await walkGraph(g, mail(['a@local.org']), executor);
    expect(served.at(-1)).toMatchObject({ mailet: 'Store', processor: 'error' });
    expect(trace).toContainEqual(expect.objectContaining({ event: 'error', mailet: 'Boom', message: 'mailet exploded', handling: 'error' }));
  });

  it('sends the mail to the processor named by onMailetException', async () => {
    const g = graph([
      { name: 'root', steps: [{ matcher: 'All', mailet: 'Boom', onMailetException: 'quarantine' }] },
      { name: 'quarantine', steps: [{ matcher: 'All', mailet: 'Store' }] },
    ]);
    await walkGraph(g, mail(['a@local.org']), executor);
    expect(served.at(-1)).toMatchObject({ mailet: 'Store', processor: 'quarantine' });
  });

  it('goes on to the next step when onMailetException is ignore', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'All', mailet: 'Boom', onMailetException: 'ignore' }, { matcher: 'All', mailet: 'Deliver' }] }]);
    await walkGraph(g, mail(['a@local.org']), executor);
    expect(served.map((s) => s.mailet)).toEqual(['Boom', 'Deliver']);
  });

  it('stops processing and reports the mail when onMailetException is propagate', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'All', mailet: 'Boom', onMailetException: 'propagate' }, { matcher: 'All', mailet: 'Deliver' }] }]);
    const result = await walkGraph(g, mail(['a@local.org']), executor);
    expect(served.map((s) => s.mailet)).toEqual(['Boom']);
    expect(result.propagated).toEqual([expect.objectContaining({ processor: 'root', message: expect.stringContaining('mailet exploded') })]);
    expect(result.propagated[0].mail.state).toBe('root');
  });

  it('treats a throwing matcher per onMatchException: error processor, matchall, nomatch, a processor', async () => {
    const cases: Array<[string | undefined, string[]]> = [
      [undefined, ['error:Store']],
      ['matchall', ['root:Deliver']],
      ['nomatch', ['root:Noop']],
      ['quarantine', ['quarantine:Store']],
    ];
    for (const [handling, expected] of cases) {
      served.length = 0;
      const g = graph([
        { name: 'root', steps: [{ matcher: 'Throws', mailet: 'Deliver', ...(handling ? { onMatchException: handling } : {}) }, { matcher: 'All', mailet: 'Noop' }] },
        { name: 'quarantine', steps: [{ matcher: 'All', mailet: 'Store' }] },
      ]);
      const { trace } = await walkGraph(g, mail(['a@local.org']), executor);
      expect(served.map((s) => `${s.processor}:${s.mailet}`)).toEqual(expected);
      expect(trace).toContainEqual(expect.objectContaining({ event: 'match-error', matcher: 'Throws', message: 'matcher exploded' }));
    }
  });

  it('ends a mail that reaches the end of a processor', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'All', mailet: 'Noop' }] }]);
    const { trace } = await walkGraph(g, mail(['a@local.org']), executor);
    expect(trace.at(-1)).toEqual({ event: 'end', mail: 'm1', processor: 'root', reason: 'end-of-processor' });
  });

  it('stops a configuration loop instead of running forever', async () => {
    const g = graph([
      { name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'other' } }] },
      { name: 'other', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'root' } }] },
    ]);
    const result = await walkGraph(g, mail(['a@local.org']), executor);
    expect(result.propagated[0].message).toMatch(/processor visits/);
  });

  it('reports the mail when the error processor itself fails', async () => {
    const g = registry.compile({ processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'Boom' }] }, { name: 'error', steps: [{ matcher: 'All', mailet: 'Boom' }] }] });
    const result = await walkGraph(g, mail(['a@local.org']), executor);
    expect(result.propagated).toHaveLength(1);
    expect(result.propagated[0].processor).toBe('error');
  });

  it('lets a WalkAborted through so the enclosing activity is retried', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'All', mailet: 'Noop' }] }]);
    const aborting: StepExecutor = { ...executor, service: async () => { throw new WalkAborted(new Error('store down')); } };
    await expect(walkGraph(g, mail(['a@local.org']), aborting)).rejects.toBeInstanceOf(WalkAborted);
  });

  it('stops before durable steps and resumes from their outcome', async () => {
    const g = graph([{ name: 'root', steps: [{ matcher: 'IsLocal', mailet: 'Durable' }, { matcher: 'All', mailet: 'Store' }] }]);
    const first = await walkGraph(g, mail(['a@local.org', 'b@remote.org']), executor, { stopBefore: (s) => s.execution === 'activity' });
    expect(first.stops).toHaveLength(1);
    expect(first.stops[0]).toMatchObject({ processor: 'root', index: 0, mail: { recipients: ['a@local.org'] } });
    expect(served).toEqual([expect.objectContaining({ mailet: 'Store', recipients: ['b@remote.org'] })]);
    const resumed: Position = { ...first.stops[0], outcome: { ok: { ...first.stops[0].mail, state: GHOST } } };
    const second = await walkGraph(g, [resumed], executor, { stopBefore: (s) => s.execution === 'activity' });
    expect(second.stops).toEqual([]);
    expect(second.trace.at(-1)).toMatchObject({ event: 'end', reason: 'ghost' });
    const failed = await walkGraph(g, [{ ...first.stops[0], outcome: { error: 'timed out' } }], executor);
    expect(failed.trace).toContainEqual(expect.objectContaining({ event: 'error', message: 'timed out' }));
    expect(served.at(-1)).toMatchObject({ processor: 'error' });
  });

  it('names splits uniquely even when a mail is split again after a resume', async () => {
    const g = graph([
      { name: 'root', steps: [{ matcher: 'IsLocal', mailet: 'ToProcessor', params: { processor: 'second' } }, { matcher: 'All', mailet: 'Store' }] },
      { name: 'second', steps: [{ matcher: 'StartsWith=a', mailet: 'Store' }, { matcher: 'All', mailet: 'Deliver' }] },
    ]);
    const result = await walkGraph(g, mail(['a@local.org', 'c@local.org', 'b@remote.org']), executor);
    const names = result.trace.filter((t) => t.event === 'split').map((t) => (t as { into: string }).into);
    expect(new Set(names).size).toBe(names.length);
    expect(served.filter((s) => s.mailet !== 'ToProcessor').map((s) => s.recipients)).toEqual(expect.arrayContaining([['a@local.org'], ['c@local.org'], ['b@remote.org']]));
  });
});

describe('composite matchers', () => {
  const recipients = ['a@local.org', 'ab@remote.org', 'b@remote.org', 'c@local.org'];
  async function matched(operator: 'And' | 'Or' | 'Not' | 'Xor', operands: string[]): Promise<string[]> {
    served.length = 0;
    const g = graph([{ name: 'root', steps: [{ matcher: 'combo', mailet: 'Deliver' }] }], [{ name: 'combo', operator, matchers: operands }]);
    await walkGraph(g, mail(recipients), executor);
    return served.filter((s) => s.mailet === 'Deliver').flatMap((s) => s.recipients);
  }

  it('And matches the recipients every operand matches', async () => {
    expect(await matched('And', ['IsLocal', 'StartsWith=a'])).toEqual(['a@local.org']);
  });
  it('Or matches the recipients any operand matches', async () => {
    expect(await matched('Or', ['IsLocal', 'StartsWith=a'])).toEqual(['a@local.org', 'ab@remote.org', 'c@local.org']);
  });
  it('Not matches the recipients no operand matches', async () => {
    expect(await matched('Not', ['IsLocal', 'StartsWith=a'])).toEqual(['b@remote.org']);
  });
  it('Xor matches the recipients an odd number of operands match', async () => {
    expect(await matched('Xor', ['IsLocal', 'StartsWith=a'])).toEqual(['ab@remote.org', 'c@local.org']);
  });
  it('nests composites by name', async () => {
    served.length = 0;
    const g = graph([{ name: 'root', steps: [{ matcher: 'outer', mailet: 'Deliver' }] }], [
      { name: 'inner', operator: 'Not', matchers: ['IsLocal'] },
      { name: 'outer', operator: 'And', matchers: ['inner', 'StartsWith=a'] },
    ]);
    await walkGraph(g, mail(recipients), executor);
    expect(served.flatMap((s) => s.recipients)).toEqual(['ab@remote.org']);
  });
});

describe('MailetRegistry.compile', () => {
  const catalogue = new MailetRegistry();

  it('compiles James distributed default graph with every processor', () => {
    const compiled = catalogue.compile(DEFAULT_GRAPH);
    expect(Object.keys(compiled.processors)).toEqual(
      expect.arrayContaining(['root', 'error', 'transport', 'local-delivery', 'relay', 'local-address-error', 'relay-denied', 'bounces']),
    );
    expect(compiled.processors['local-delivery'].at(-1)).toMatchObject({ mailet: 'LocalDelivery', execution: 'local' });
    expect(compiled.processors.root[0]).toMatchObject({ mailet: 'PostmasterAlias', execution: 'local' });
    const relay = compiled.processors.transport.find((s) => s.matcherSpec === 'relay-allowed');
    expect(relay?.matcher).toMatchObject({ kind: 'composite', operator: 'Or' });
  });

  it('refuses a graph without root or error processor', () => {
    expect(() => catalogue.compile({ processors: [{ name: 'root', steps: [] }] })).toThrow('no "error" processor');
  });

  it('names the processor and position of an unknown mailet', () => {
    const bad = { processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'Nope' }] }, { name: 'error', steps: [] }] };
    expect(() => catalogue.compile(bad)).toThrow('processor root, step 1 (All → Nope): Unknown mailet Nope');
  });

  it('refuses a ToProcessor to an unknown processor and a missing parameter', () => {
    const unknown = { processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'nowhere' } }] }, { name: 'error', steps: [] }] };
    expect(() => catalogue.compile(unknown)).toThrow('unknown processor "nowhere"');
    const missing = { processors: [{ name: 'root', steps: [{ matcher: 'All', mailet: 'ToRepository' }] }, { name: 'error', steps: [] }] };
    expect(() => catalogue.compile(missing)).toThrow(/processor root, step 1 .*repositoryPath/);
  });

  it('refuses an unknown matcher, a bad condition, an unknown parameter and bad exception targets', () => {
    const wrap = (step: object) => ({ processors: [{ name: 'root', steps: [step] }, { name: 'error', steps: [] }] }) as ProcessorGraph;
    expect(() => catalogue.compile(wrap({ matcher: 'Bogus=1', mailet: 'Null' }))).toThrow('Unknown matcher Bogus');
    expect(() => catalogue.compile(wrap({ matcher: 'SizeGreaterThan=lots', mailet: 'Null' }))).toThrow(/SizeGreaterThan.*not a size/);
    expect(() => catalogue.compile(wrap({ matcher: 'RemoteAddrInNetwork=300.1.1.1/8', mailet: 'Null' }))).toThrow(/not an IP address/);
    expect(() => catalogue.compile(wrap({ matcher: 'All', mailet: 'ToRepository', params: { repositoryPath: 'var/mail/x/', passThru: 'true' } }))).toThrow(/passThru/);
    expect(() => catalogue.compile(wrap({ matcher: 'All', mailet: 'Null', onMailetException: 'nowhere' }))).toThrow('onMailetException: unknown processor "nowhere"');
    expect(() => catalogue.compile(wrap({ matcher: 'All', mailet: 'Null', onMatchException: 'nowhere' }))).toThrow('onMatchException: unknown processor "nowhere"');
  });

  it('refuses a composite matcher with an unknown operator or a cycle', () => {
    const g = (matchers: ProcessorGraph['matchers']) => ({ matchers, processors: [{ name: 'root', steps: [{ matcher: 'x', mailet: 'Null' }] }, { name: 'error', steps: [] }] });
    expect(() => catalogue.compile(g([{ name: 'x', operator: 'Nand' as 'And', matchers: ['All'] }]))).toThrow(/operator must be And, Or, Not or Xor/);
    expect(() => catalogue.compile(g([{ name: 'x', operator: 'Not', matchers: ['y'] }, { name: 'y', operator: 'Not', matchers: ['x'] }]))).toThrow(/refers to itself/);
  });
});
