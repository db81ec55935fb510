import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { GlobalHandlers } from '@temporalio/worker/lib/workflow/vm-shared';
import { finish } from './fixtures/waiting-workflow';
import { startFixtureWorker, type FixtureWorker } from '../helpers/fixture-worker';

/**
 * The Temporal UI's stack trace of a running workflow (`__stack_trace`, `__enhanced_stack_trace`)
 * with the SDK patch of `patches/` (stack traces recorded raw, formatted through the source map
 * only when queried), on the Temporal of `scripts/engines.sh`.
 */
const TASK_QUEUE = `stack-traces-${randomUUID()}`;
/** This checkout's root, as the workflow bundle's source map names files. */
const ROOT = path.resolve(__dirname, '../..');
/** The queries' answers recorded with the unpatched SDK 1.24.0 (see the test's WRITE_STACK_TRACE_GOLDEN). */
const GOLDEN = path.join(__dirname, 'fixtures/waiting-workflow.stack-traces.json');

interface EnhancedStackTrace {
  sdk: { name: string; version: string };
  sources: Record<string, unknown>;
  stacks: Array<{ locations: Array<{ file_path?: string; function_name?: string; line?: number; column?: number }> }>;
}

let fixture: FixtureWorker;
let client: Client;
let handle: WorkflowHandle;

beforeAll(async () => {
  fixture = await startFixtureWorker({ workflowsPath: require.resolve('./fixtures/waiting-workflow'), taskQueue: TASK_QUEUE });
  client = fixture.client;
  handle = await client.workflow.start('waitingWorkflow', { taskQueue: TASK_QUEUE, workflowId: `stack-traces-${randomUUID()}` });
}, 120_000);

afterAll(async () => {
  await handle?.terminate('test over').catch(() => undefined);
  await fixture?.stop();
});

/** A query's answer with this checkout's path replaced by `<root>` (the golden file's paths). */
async function query<T>(name: string): Promise<T> {
  const answer = await handle.query<T>(name);
  return JSON.parse(JSON.stringify(answer).split(ROOT).join('<root>')) as T;
}

/** Both queries' answers, the enhanced one's sources by file name only. */
async function traces(): Promise<{ stackTrace: string; enhanced: Omit<EnhancedStackTrace, 'sources'> & { sources: string[] } }> {
  const stackTrace = await query<string>('__stack_trace');
  const { sources, ...rest } = await query<EnhancedStackTrace>('__enhanced_stack_trace');
  return { stackTrace, enhanced: { ...rest, sources: Object.keys(sources).sort() } };
}

it('runs with the patched SDK (postinstall applied patches/)', () => {
  expect(typeof (GlobalHandlers.prototype as unknown as { lazyInit?: unknown }).lazyInit).toBe('function');
});

it('answers both stack trace queries of a waiting workflow as the unpatched SDK does', async () => {
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { waiting: unknown; afterSignal: unknown };
  if (process.env.WRITE_STACK_TRACE_GOLDEN) {
    // Run once against the unpatched SDK (node_modules as npm installed it) to record the file.
    const waiting = await traces();
    await handle.signal(finish);
    await settled(waiting.stackTrace);
    writeFileSync(GOLDEN, JSON.stringify({ waiting, afterSignal: await traces() }, null, 1) + '\n');
    return;
  }
  const waiting = await traces();
  expect(waiting).toEqual(golden.waiting);
  // Source-mapped to the fixture's TypeScript, V8's 10 frames, no SDK frame, the aggregators' own promises linked.
  expect(waiting.stackTrace).toMatch(/^ {4}at waitLong \(<root>\/test\/temporal\/fixtures\/waiting-workflow\.ts:7:14\)\n/);
  expect(waiting.stackTrace).not.toMatch(/vm-shared|initAll|Promise\.then|runInContext/);
  await handle.signal(finish);
  await settled(waiting.stackTrace);
  const afterSignal = await traces();
  expect(afterSignal).toEqual(golden.afterSignal);
  expect(afterSignal.stackTrace).not.toEqual(waiting.stackTrace);
});

/** Waits until the trace differs from `before` (the signal's task ran). */
async function settled(before: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await query<string>('__stack_trace')) !== before) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the stack trace did not change after the signal');
}
