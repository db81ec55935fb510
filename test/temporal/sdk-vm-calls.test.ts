import { randomUUID } from 'node:crypto';
import vm from 'node:vm';
import type { Client } from '@temporalio/client';
import * as vmShared from '@temporalio/worker/lib/workflow/vm-shared';
import { go } from './fixtures/vm-call-workflows';
import { startFixtureWorker, type FixtureWorker } from '../helpers/fixture-worker';

/**
 * The SDK patch of `patches/` that calls into the workflow context without node's per-call
 * watchdog thread where no workflow code runs (`concludeActivation`, `dispose`), and skips the
 * `tryUnblockConditions` call when no condition is blocked (docs/performance.md, stop 23). The
 * worker runs in debug mode here, so the workflow context is in this thread and its calls can be
 * recorded; it runs against the Temporal of `scripts/engines.sh`.
 */
/** Added by the patch (not in the SDK's type declarations). */
const { UNWATCHED_CALLS } = vmShared as unknown as { UNWATCHED_CALLS: Set<string> };
const TASK_QUEUE = `vm-calls-${randomUUID()}`;

interface Call {
  fn: string;
  timeout: number | undefined;
}

let calls: Call[] = [];
let fixture: FixtureWorker;
let client: Client;
const originalRunInContext = vm.Script.prototype.runInContext;

beforeAll(async () => {
  vm.Script.prototype.runInContext = function (this: vm.Script, context: vm.Context, options?: vm.RunningScriptOptions) {
    const args = (context as { __temporal_args?: [unknown, string, unknown[]] }).__temporal_args;
    if (args) calls.push({ fn: args[1], timeout: options?.timeout });
    return originalRunInContext.call(this, context, options);
  };
  fixture = await startFixtureWorker({ workflowsPath: require.resolve('./fixtures/vm-call-workflows'), taskQueue: TASK_QUEUE, debugMode: true });
  client = fixture.client;
}, 120_000);

afterAll(async () => {
  vm.Script.prototype.runInContext = originalRunInContext;
  await fixture?.stop();
});

beforeEach(() => {
  calls = [];
});

function timedCalls(): Map<string, Array<number | undefined>> {
  const byFn = new Map<string, Array<number | undefined>>();
  for (const call of calls) byFn.set(call.fn, [...(byFn.get(call.fn) ?? []), call.timeout]);
  return byFn;
}

it('lists the calls that run no workflow code', () => {
  expect([...UNWATCHED_CALLS].sort()).toEqual(['concludeActivation', 'dispose']);
});

it('runs a workflow without conditions with no tryUnblockConditions call, and the watchdog only where workflow code runs', async () => {
  const result = await client.workflow.execute('plainWorkflow', { taskQueue: TASK_QUEUE, workflowId: `plain-${randomUUID()}` });
  expect(result).toBe('plain done');
  const byFn = timedCalls();
  expect(byFn.get('tryUnblockConditions')).toBeUndefined();
  for (const fn of ['initRuntime', 'initialize', 'activate']) {
    expect(byFn.get(fn)?.length).toBeGreaterThan(0);
    for (const timeout of byFn.get(fn) ?? []) expect(timeout).toBeGreaterThan(0);
  }
  // Two activations (start, timer), each concluded; the eviction after completion disposes the context.
  expect(byFn.get('activate')).toHaveLength(2);
  expect(byFn.get('concludeActivation')).toEqual([undefined, undefined]);
  for (let i = 0; i < 50 && !timedCalls().has('dispose'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(timedCalls().get('dispose')).toEqual([undefined]);
});

it('still evaluates a blocked condition (with the watchdog) and releases it when its signal arrives', async () => {
  const handle = await client.workflow.start('conditionWorkflow', { taskQueue: TASK_QUEUE, workflowId: `condition-${randomUUID()}` });
  // The first activation leaves the condition blocked (nothing to evaluate yet: no call needed).
  for (let i = 0; i < 50 && !calls.some((c) => c.fn === 'concludeActivation'); i++) await new Promise((r) => setTimeout(r, 100));
  await handle.signal(go);
  expect(await handle.result()).toBe('released');
  const unblocks = timedCalls().get('tryUnblockConditions') ?? [];
  expect(unblocks.length).toBeGreaterThan(0);
  for (const timeout of unblocks) expect(timeout).toBeGreaterThan(0);
});
