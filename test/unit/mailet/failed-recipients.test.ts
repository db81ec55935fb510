import { GHOST, type MailReference } from '../../../src/core/mail';
import { PermanentError, TemporaryError } from '../../../src/core/errors';
import { OverQuotaError } from '../../../src/mailbox/api/errors';
import { defineMailet, defineMatcher } from '../../../src/mailet/api';
import { classifyDeliveryFailures } from '../../../src/mailet/catalogue/core-mailets';
import type { CompiledStep, ProcessorGraph } from '../../../src/mailet/graph/model';
import { FAILED_RECIPIENTS_ATTRIBUTE, splitFailedRecipients, walkGraph, withFailedRecipients, type StepExecutor } from '../../../src/mailet/graph/walker';
import { MailetRegistry } from '../../../src/mailet/registry';

function mail(recipients: string[]): MailReference {
  return {
    mailId: 'm1', name: 'm1', sender: 'a@remote.org', recipients, messageBlobId: 'b'.repeat(64), size: 10, state: 'root',
    remoteAddr: '127.0.0.1', remoteHost: 'localhost', authUser: null, receivedAt: '2026-01-01T00:00:00.000Z', attributes: {}, errorMessage: null,
  };
}

const full = (r: string) => r.startsWith('full');
const served: Array<{ mailet: string; processor: string; recipients: string[]; name: string; errorMessage: string | null }> = [];

const registry = new MailetRegistry(
  [defineMatcher({ name: 'All', match: async (m) => m.recipients })],
  [
    // Delivers everybody except `full*` recipients, which it reports as failed (LocalDelivery over quota).
    defineMailet({
      name: 'PartialDeliver',
      service: async (m) => withFailedRecipients({ ...m, state: GHOST }, { recipients: m.recipients.filter(full), error: 'Quota exceeded' }),
    }),
    // A careless mailet: reports recipients the mail never had and keeps the failed ones listed.
    defineMailet({
      name: 'SloppyReport',
      service: async (m) => ({ ...m, state: GHOST, attributes: { ...m.attributes, [FAILED_RECIPIENTS_ATTRIBUTE]: { recipients: ['stranger@x.org', ...m.recipients.filter(full)], error: 42 } } }),
    }),
    defineMailet({ name: 'Store', service: async (m) => ({ ...m, state: GHOST }) }),
    defineMailet({ name: 'Noop', service: async (m) => m }),
  ],
);

const executor: StepExecutor = {
  async match(leaf, _step, m) {
    return registry.matcher(leaf.name).match(m, undefined as never, registry.condition(leaf.name, leaf.condition));
  },
  async service(step: CompiledStep, m) {
    served.push({ mailet: step.mailet, processor: step.processor, recipients: m.recipients, name: m.name, errorMessage: m.errorMessage });
    return registry.mailet(step.mailet).service(m, undefined as never, registry.params(step));
  },
};

function graph(deliverStep: ProcessorGraph['processors'][number]['steps'][number]) {
  return registry.compile({
    processors: [
      { name: 'root', steps: [deliverStep, { matcher: 'All', mailet: 'Store' }] },
      { name: 'error', steps: [{ matcher: 'All', mailet: 'Store' }] },
    ],
  });
}

beforeEach(() => {
  served.length = 0;
});

describe('a mailet failing for some recipients (James MailDispatcher split)', () => {
  it('sends only the failed recipients to the error processor, with the error message, and ends the delivered ones', async () => {
    const result = await walkGraph(graph({ matcher: 'All', mailet: 'PartialDeliver' }), mail(['ok@local.org', 'full@local.org']), executor);
    expect(served.filter((s) => s.processor === 'error')).toEqual([{ mailet: 'Store', processor: 'error', recipients: ['full@local.org'], name: 'm1-0.1-failed', errorMessage: 'Quota exceeded' }]);
    // The delivered part ends (ghost): it never reaches the next step of root.
    expect(served.filter((s) => s.processor === 'root' && s.mailet === 'Store')).toEqual([]);
    expect(result.trace).toContainEqual({ event: 'split', mail: 'm1', into: 'm1-0.1-failed', processor: 'root', index: 0, recipients: ['full@local.org'] });
    expect(result.trace).toContainEqual({ event: 'error', mail: 'm1-0.1-failed', processor: 'root', index: 0, mailet: 'PartialDeliver', message: 'Quota exceeded', handling: 'error' });
    expect(result.propagated).toEqual([]);
  });

  it('applies the step exception mode to the failed part only: ignore lets them go on to the next step', async () => {
    await walkGraph(graph({ matcher: 'All', mailet: 'PartialDeliver', onMailetException: 'ignore' }), mail(['ok@local.org', 'full@local.org']), executor);
    expect(served.filter((s) => s.mailet === 'Store')).toEqual([{ mailet: 'Store', processor: 'root', recipients: ['full@local.org'], name: 'm1-0.1-failed', errorMessage: null }]);
  });

  it('keeps the failed mail in var/mail/error when the exception mode is propagate', async () => {
    const result = await walkGraph(graph({ matcher: 'All', mailet: 'PartialDeliver', onMailetException: 'propagate' }), mail(['full@local.org', 'ok@local.org']), executor);
    expect(result.propagated).toHaveLength(1);
    expect(result.propagated[0].mail.recipients).toEqual(['full@local.org']);
    expect(result.propagated[0].message).toMatch(/PartialDeliver failed in processor root: Quota exceeded/);
  });

  it('fails every recipient as one mail when all of them fail', async () => {
    await walkGraph(graph({ matcher: 'All', mailet: 'PartialDeliver' }), mail(['full1@local.org', 'full2@local.org']), executor);
    expect(served.filter((s) => s.processor === 'error').map((s) => s.recipients)).toEqual([['full1@local.org', 'full2@local.org']]);
  });

  it('splits nothing when no recipient failed', async () => {
    const result = await walkGraph(graph({ matcher: 'All', mailet: 'PartialDeliver' }), mail(['ok@local.org']), executor);
    expect(served.filter((s) => s.processor === 'error')).toEqual([]);
    expect(result.trace.filter((t) => t.event === 'split')).toEqual([]);
  });

  it('ignores reported recipients the mail did not have, and a malformed error, without failing anyone else', async () => {
    await walkGraph(graph({ matcher: 'All', mailet: 'SloppyReport' }), mail(['ok@local.org', 'full@local.org']), executor);
    expect(served.filter((s) => s.processor === 'error')).toEqual([
      { mailet: 'Store', processor: 'error', recipients: ['full@local.org'], name: 'm1-0.1-failed', errorMessage: 'delivery failed for these recipients' },
    ]);
  });

  it('removes the report attribute and the failed recipients from the handled mail', () => {
    const before = mail(['a@x.org', 'b@x.org']);
    const reported = withFailedRecipients(before, { recipients: ['b@x.org'], error: 'boom' });
    expect(reported.recipients).toEqual(['a@x.org']);
    const { mail: handled, failed } = splitFailedRecipients(before, reported);
    expect(handled.attributes).toEqual({});
    expect(handled.recipients).toEqual(['a@x.org']);
    expect(failed).toEqual({ recipients: ['b@x.org'], error: 'boom' });
    expect(withFailedRecipients(before, { recipients: [], error: 'x' })).toBe(before);
    for (const junk of [null, 'b@x.org', ['b@x.org'], { recipients: 'b@x.org' }]) {
      const out = splitFailedRecipients(before, { ...before, attributes: { [FAILED_RECIPIENTS_ATTRIBUTE]: junk } });
      expect([out.failed, out.mail.attributes, out.mail.recipients]).toEqual([null, {}, ['a@x.org', 'b@x.org']]);
    }
  });
});

describe('classifyDeliveryFailures (LocalDelivery per recipient)', () => {
  it('fails over-quota and other permanent errors per recipient, and keeps the first temporary one for a retry', () => {
    const temporary = new TemporaryError('store unavailable');
    const outcomes: Array<PromiseSettledResult<unknown>> = [
      { status: 'fulfilled', value: undefined },
      { status: 'rejected', reason: new OverQuotaError('Quota exceeded: full@x.org may store at most 0 messages', 'count') },
      { status: 'rejected', reason: new PermanentError('no such mailbox') },
      { status: 'rejected', reason: temporary },
      { status: 'rejected', reason: 'a string thrown' },
    ];
    const out = classifyDeliveryFailures(['ok@x.org', 'full@x.org', 'bad@x.org', 'slow@x.org', 'odd@x.org'], outcomes);
    expect(out.permanent).toEqual([
      { recipient: 'full@x.org', message: 'Quota exceeded: full@x.org may store at most 0 messages' },
      { recipient: 'bad@x.org', message: 'no such mailbox' },
    ]);
    expect(out.temporary).toBe(temporary);
  });

  it('reports nothing when every delivery succeeded', () => {
    expect(classifyDeliveryFailures(['a@x.org'], [{ status: 'fulfilled', value: 1 }])).toEqual({ permanent: [], temporary: undefined });
  });
});
