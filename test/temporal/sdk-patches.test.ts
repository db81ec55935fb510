import { LoggerWithComposedMetadata } from '@temporalio/common/lib/logger';
import type { Logger, LogLevel, LogMetadata, WorkflowSerializationContext } from '@temporalio/common';
import type { coresdk } from '@temporalio/proto';
import { DefaultLogger } from '@temporalio/worker';
import { WorkflowCodecRunner } from '@temporalio/worker/lib/workflow-codec-runner';

/**
 * The two small SDK patches of `patches/` that only skip work whose result is unused (stop 22 of
 * docs/performance.md): the rest of the suite runs every workflow through them; these tests pin
 * what they skip and what they must not.
 */
describe('SDK patch: a record the root DefaultLogger drops does not resolve its metadata', () => {
  function composed(root: Logger): { logger: LoggerWithComposedMetadata; resolved: () => number } {
    let resolved = 0;
    const logger = LoggerWithComposedMetadata.compose(root, () => {
      resolved++;
      return { workflowId: 'wf-1' };
    }) as LoggerWithComposedMetadata;
    return { logger, resolved: () => resolved };
  }

  it('drops TRACE and DEBUG below a WARN logger without calling the contributors, and logs WARN with them', () => {
    const written: Array<{ level: LogLevel; message: string; meta?: LogMetadata }> = [];
    const { logger, resolved } = composed(new DefaultLogger('WARN', (entry) => void written.push(entry)));
    logger.trace('poll');
    logger.debug('activation');
    logger.log('INFO', 'info');
    expect(resolved()).toBe(0);
    logger.warn('slow', { extra: 1 });
    logger.log('ERROR', 'broken');
    expect(resolved()).toBe(2);
    expect(written.map((e) => [e.level, e.message, e.meta])).toEqual([
      ['WARN', 'slow', { workflowId: 'wf-1', extra: 1 }],
      ['ERROR', 'broken', { workflowId: 'wf-1' }],
    ]);
  });

  it('hands every record with its metadata to a root logger that is not a DefaultLogger', () => {
    const written: Array<[string, LogMetadata | undefined]> = [];
    const record = (level: string) => (message: string, meta?: LogMetadata) => void written.push([`${level} ${message}`, meta]);
    const root: Logger = { log: (level, message, meta) => written.push([`${level} ${message}`, meta]), trace: record('TRACE'), debug: record('DEBUG'), info: record('INFO'), warn: record('WARN'), error: record('ERROR') };
    const { logger, resolved } = composed(root);
    logger.trace('poll');
    logger.debug('activation');
    expect(resolved()).toBe(2);
    expect(written).toEqual([
      ['TRACE poll', { workflowId: 'wf-1' }],
      ['DEBUG activation', { workflowId: 'wf-1' }],
    ]);
  });
});

describe('SDK patch: without payload codecs, activations and completions are not walked', () => {
  const context: WorkflowSerializationContext = { type: 'workflow', namespace: 'default', workflowId: 'wf-1' };
  const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hello"') };
  const activation: coresdk.workflow_activation.IWorkflowActivation = { runId: 'run-1', jobs: [{ resolveActivity: { seq: 1, result: { completed: { result: payload } } } }] };
  const completion: coresdk.workflow_completion.IWorkflowActivationCompletion = { runId: 'run-1', successful: { commands: [{ completeWorkflowExecution: { result: payload } }] } };

  it('returns the protobuf messages with the payloads as they came', async () => {
    const runner = new WorkflowCodecRunner([], context);
    const decoded = await runner.decodeActivation(activation);
    expect(decoded.runId).toBe('run-1');
    expect(decoded.jobs![0].resolveActivity?.result?.completed?.result?.data).toEqual(payload.data);
    const encoded = await runner.encodeCompletion(completion);
    expect(encoded.runId).toBe('run-1');
    expect(encoded.successful?.commands?.[0].completeWorkflowExecution?.result?.data).toEqual(payload.data);
  });

  it('still runs a configured codec over both', async () => {
    const upper = (p: typeof payload) => ({ ...p, data: Buffer.from(Buffer.from(p.data).toString().toUpperCase()) });
    const lower = (p: typeof payload) => ({ ...p, data: Buffer.from(Buffer.from(p.data).toString().toLowerCase()) });
    const codec = { encode: async (ps: (typeof payload)[]) => ps.map(upper), decode: async (ps: (typeof payload)[]) => ps.map(lower) };
    const runner = new WorkflowCodecRunner([codec as never], context);
    const encoded = await runner.encodeCompletion(completion);
    expect(Buffer.from(encoded.successful!.commands![0].completeWorkflowExecution!.result!.data!).toString()).toBe('"HELLO"');
    const shouted: coresdk.workflow_activation.IWorkflowActivation = { runId: 'run-1', jobs: [{ resolveActivity: { seq: 1, result: { completed: { result: { ...payload, data: Buffer.from('"HELLO"') } } } } }] };
    const decoded = await runner.decodeActivation(shouted);
    expect(Buffer.from(decoded.jobs![0].resolveActivity!.result!.completed!.result!.data!).toString()).toBe('"hello"');
  });
});
