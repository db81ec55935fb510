import type { DeliveryStatus } from '../../workflows/deliver-remotely';
import { adminPut, sendMail } from '../helpers/postflow';
import { eventually, relayingGraph, silentServer, SmtpSink, startRemoteTestNode, tableResolver, type RemoteTestNode } from '../mailet/remote-node';

const ALICE = 'alice@local.test';

function message(subject: string, to: string): string {
  return `From: Alice <${ALICE}>\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@local.test>\r\n\r\nHello remote world.\r\n`;
}

describe('RemoteDelivery against real SMTP servers on loopback', () => {
  let node: RemoteTestNode;
  let sink: SmtpSink;
  let silent: { port: number; stop(): Promise<void> };

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    silent = await silentServer();
    // strict.test is relayed with sendpartial=false (James' mailet default); every other domain with
    // the default graph's sendpartial=true (James' distributed mailetcontainer.xml).
    const graph = relayingGraph();
    const relay = graph.processors.find((p) => p.name === 'relay')!;
    relay.steps.unshift({ matcher: 'HostIs=strict.test', mailet: 'RemoteDelivery', params: { outgoingQueue: 'outgoing', maxDnsProblemRetries: '0', bounceProcessor: 'bounces' } });
    node = await startRemoteTestNode({ resolver: tableResolver({ 'remote.test': sink.port, 'strict.test': sink.port, 'silent.test': silent.port }), delays: '1000, 2000', maxRetries: 2, graph });
    expect((await adminPut(node.webadmin, '/domains/local.test')).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${ALICE}`, { password: 'pw' })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await sink?.stop();
    await silent?.stop();
  });

  async function outgoing(mailId: string, domain: string): Promise<DeliveryStatus> {
    const handle = node.app.client.workflow.getHandle(`outgoing-${mailId}/${mailId}-${domain}`);
    await eventually(async () => handle.describe().then(() => true, () => false), 20_000, 'the outgoing workflow');
    return handle.result() as Promise<DeliveryStatus>;
  }

  async function dsnFor(recipient: string): Promise<string> {
    return eventually(async () => (await node.inbox(ALICE)).find((m) => m.includes('multipart/report') && m.includes(`Final-Recipient: rfc822; ${recipient}`)), 30_000, `a DSN about ${recipient}`);
  }

  it('delivers after a remote 4xx, on the next attempt after the configured delay, once', async () => {
    sink.answer = (rcpt, attempt) => (rcpt === 'later@remote.test' && attempt === 1 ? { code: 451, message: '4.3.0 Try again later' } : null);
    const started = Date.now();
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: ['later@remote.test'] }, message('retry then success', 'later@remote.test'));
    const status = await outgoing(mailId, 'remote.test');
    expect(status).toMatchObject({ attempt: 2, delivered: ['later@remote.test'], failed: [], pending: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const copies = sink.received.filter((m) => m.to.includes('later@remote.test'));
    expect(copies).toHaveLength(1);
    expect(copies[0].from).toBe(ALICE);
    expect(copies[0].secure).toBe(true);
    expect(copies[0].data).toContain('Subject: retry then success');
  });

  it('delivers to the accepted recipients and bounces the refused one with an RFC 3464 DSN to the sender', async () => {
    sink.answer = (rcpt) => (rcpt === 'nobody@remote.test' ? { code: 550, message: '5.1.1 <nobody@remote.test>: Recipient address rejected' } : null);
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: ['bob@remote.test', 'nobody@remote.test'] }, message('partial', 'bob@remote.test'));
    const status = await outgoing(mailId, 'remote.test');
    expect(status.delivered).toEqual(['bob@remote.test']);
    expect(status.failed).toEqual([expect.objectContaining({ recipient: 'nobody@remote.test', status: '5.1.1' })]);
    const dsn = await dsnFor('nobody@remote.test');
    expect(dsn).toMatch(/Content-Type: multipart\/report; report-type=delivery-status;/);
    expect(dsn).toContain('Content-Type: message/delivery-status');
    expect(dsn).toContain('Reporting-MTA: dns; mx.postflow.test');
    expect(dsn).toContain('Action: failed');
    expect(dsn).toContain('Status: 5.1.1');
    expect(dsn).toContain('Diagnostic-Code: smtp; 550 5.1.1 <nobody@remote.test>: Recipient address rejected');
    expect(dsn).toContain('Content-Type: text/rfc822-headers');
    expect(dsn).toContain('Subject: partial');
    expect(dsn).not.toContain('Final-Recipient: rfc822; bob@remote.test');
  });

  it('with sendpartial=true delivers to the accepted recipient and retries only the one refused with 4xx', async () => {
    sink.answer = (rcpt, attempt) => (rcpt === 'soon@remote.test' && attempt === 1 ? { code: 452, message: '4.2.2 Mailbox full, try later' } : null);
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: ['now@remote.test', 'soon@remote.test'] }, message('partial temporary', 'now@remote.test'));
    const status = await outgoing(mailId, 'remote.test');
    expect(status).toMatchObject({ attempt: 2, failed: [], pending: [] });
    expect([...status.delivered].sort()).toEqual(['now@remote.test', 'soon@remote.test']);
    const copies = sink.received.filter((m) => m.data.includes('Subject: partial temporary'));
    expect(copies.map((m) => m.to)).toEqual([['now@remote.test'], ['soon@remote.test']]);
  });

  it('with sendpartial=false sends to nobody when one recipient is refused with 5xx, and bounces both', async () => {
    sink.answer = (rcpt) => (rcpt === 'nobody@strict.test' ? { code: 550, message: '5.1.1 <nobody@strict.test>: Recipient address rejected' } : null);
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: ['bob@strict.test', 'nobody@strict.test'] }, message('all or nothing', 'bob@strict.test'));
    const status = await outgoing(mailId, 'strict.test');
    expect(status).toMatchObject({ attempt: 1, delivered: [], pending: [] });
    const failed = Object.fromEntries(status.failed.map((f) => [f.recipient, f]));
    expect(Object.keys(failed).sort()).toEqual(['bob@strict.test', 'nobody@strict.test']);
    expect(failed['nobody@strict.test'].status).toBe('5.1.1');
    expect(failed['bob@strict.test'].status).toMatch(/^5\./);
    expect(failed['bob@strict.test'].diagnostic).toMatch(/nobody@strict\.test was refused.*sendpartial is false/);
    // The transaction was aborted before DATA: the sink never received this message.
    expect(sink.received.some((m) => m.data.includes('Subject: all or nothing'))).toBe(false);
    expect(sink.attempts.get('bob@strict.test')).toBe(1);
    await dsnFor('nobody@strict.test');
    const dsn = await dsnFor('bob@strict.test');
    expect(dsn).toContain('Subject: all or nothing');
  });

  it('with sendpartial=false retries every recipient when one is refused with 4xx, then delivers them together', async () => {
    sink.answer = (rcpt, attempt) => (rcpt === 'busy@strict.test' && attempt === 1 ? { code: 451, message: '4.3.0 Try again later' } : null);
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: ['carol@strict.test', 'busy@strict.test'] }, message('together later', 'carol@strict.test'));
    const status = await outgoing(mailId, 'strict.test');
    expect(status).toMatchObject({ attempt: 2, failed: [], pending: [] });
    expect([...status.delivered].sort()).toEqual(['busy@strict.test', 'carol@strict.test']);
    const copies = sink.received.filter((m) => m.data.includes('Subject: together later'));
    expect(copies).toHaveLength(1);
    expect([...copies[0].to].sort()).toEqual(['busy@strict.test', 'carol@strict.test']);
    expect(sink.attempts.get('carol@strict.test')).toBe(2);
  });

  it('gives up on a remote MX that never answers after maxRetries, and bounces', async () => {
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: ['someone@silent.test'] }, message('nobody home', 'someone@silent.test'));
    const status = await outgoing(mailId, 'silent.test');
    expect(status.attempt).toBe(3);
    expect(status.failed).toEqual([expect.objectContaining({ recipient: 'someone@silent.test', status: expect.stringMatching(/^5\./) })]);
    expect(status.lastError).toMatch(/timeout|Greeting never received/i);
    await dsnFor('someone@silent.test');
  }, 60_000);

  it('bounces at once a domain that does not resolve (maxDnsProblemRetries 0)', async () => {
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: ALICE, to: ['x@unknown-domain.test'] }, message('no such domain', 'x@unknown-domain.test'));
    const status = await outgoing(mailId, 'unknown-domain.test');
    expect(status.attempt).toBe(1);
    const dsn = await dsnFor('x@unknown-domain.test');
    expect(dsn).toContain('Status: 5.4.3');
  });

  it('does not bounce a bounce: a failed DSN to a null sender ends quietly', async () => {
    sink.answer = () => ({ code: 550, message: '5.7.1 Go away' });
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: '', to: ['a@remote.test'] }, message('from the null sender', 'a@remote.test'));
    const status = await outgoing(mailId, 'remote.test');
    expect(status.failed).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await node.inbox(ALICE)).some((m) => m.includes('from the null sender'))).toBe(false);
  });
});
