import { MAILETS } from '../../../src/mailet/catalogue/mailets';
import { MATCHERS } from '../../../src/mailet/catalogue/matchers';
import { parseJamesXml } from '../../../src/mailet/config/load-graph';
import { MailetRegistry } from '../../../src/mailet/registry';
import { createMailetHarness, type TestMailetHarness } from '../../../src/mailet/testing';
import { parseDelays } from '../../../src/remote-delivery/delays';
import { buildReport } from '../../../src/mailet/message/dsn';
import { HeaderSection } from '../../../src/mailet/message/header-section';
import type { AnyMailet, AnyMatcher } from '../../../src/mailet/api';

const mailet = (name: string): AnyMailet => MAILETS.find((m) => m.name === name)!;
const matcher = (name: string): AnyMatcher => MATCHERS.find((m) => m.name === name)!;
const MESSAGE = 'From: a@remote.test\r\nTo: b@local.test\r\nBcc: secret@remote.test\r\nSubject: Héllo\r\nReceived: from x\r\nReceived: from y\r\n\r\nBody line\r\n';

describe('the catalogue (James names and behaviour)', () => {
  let h: TestMailetHarness;
  beforeEach(async () => {
    h = await createMailetHarness({ localDomains: ['local.test'], localUsers: ['b@local.test'] });
  });
  afterEach(() => h.cleanup());

  it('has every matcher and mailet the issue lists', () => {
    const matchers = ['All', 'RecipientIs', 'RecipientIsLocal', 'RecipientIsRegex', 'HostIs', 'HostIsLocal', 'SenderIs', 'SenderIsLocal', 'SenderIsNull', 'SMTPAuthSuccessful', 'SMTPAuthUserIs', 'SMTPIsAuthNetwork', 'RemoteAddrInNetwork', 'SentByMailet', 'RelayLimit', 'HasHeader', 'HasAttachment', 'HasMailAttribute', 'SizeGreaterThan', 'SubjectIs', 'SubjectStartsWith', 'IsMarkedAsSpam', 'IsOverQuota', 'AtMost', 'IsSenderInRRTLoop'];
    const mailets = ['LocalDelivery', 'RemoteDelivery', 'ToProcessor', 'ToRepository', 'Null', 'Bounce', 'DSNBounce', 'Forward', 'Redirect', 'PostmasterAlias', 'RemoveMimeHeader', 'AddHeader', 'SetMimeHeader', 'AddDeliveredToHeader', 'AddFooter', 'AddSubjectPrefix', 'SetMailAttribute', 'RemoveMailAttribute', 'WithStorageDirective', 'LogMessage', 'MetricsMailet', 'VacationMailet', 'DKIMSign', 'DKIMVerify', 'SpamAssassin'];
    const registry = new MailetRegistry();
    expect(registry.matcherNames()).toEqual(expect.arrayContaining(matchers));
    expect(registry.mailetNames()).toEqual(expect.arrayContaining(mailets));
  });

  it('RemoveMimeHeader removes Bcc into a new blob; a mail without it keeps its blob', async () => {
    const mail = await h.mail(MESSAGE);
    const out = await h.runMailet(mailet('RemoveMimeHeader'), mail, { name: 'bcc' });
    expect(await h.message(out)).toBe(MESSAGE.replace('Bcc: secret@remote.test\r\n', ''));
    expect((await h.runMailet(mailet('RemoveMimeHeader'), out, { name: 'bcc' })).messageBlobId).toBe(out.messageBlobId);
  });

  it('AddSubjectPrefix encodes a non-ASCII subject (RFC 2047) and AddHeader/SetMimeHeader edit headers', async () => {
    const mail = await h.mail(MESSAGE);
    const prefixed = await h.runMailet(mailet('AddSubjectPrefix'), mail, { subjectPrefix: '[list]' });
    const headers = HeaderSection.parse((await h.message(prefixed)).split('\r\n\r\n')[0]);
    expect(headers.decoded('subject')).toBe('[list] Héllo');
    expect(headers.get('subject')).toContain('=?UTF-8?Q?');
    const added = await h.runMailet(mailet('AddHeader'), mail, { name: 'X-Scanned', value: 'yes' });
    expect(await h.message(added)).toContain('X-Scanned: yes\r\n\r\nBody line');
    const set = await h.runMailet(mailet('SetMimeHeader'), mail, { name: 'Received', value: 'only one' });
    expect((await h.message(set)).match(/Received:/g)).toHaveLength(1);
  });

  it('AddFooter appends to a text body and to a base64 part', async () => {
    const plain = await h.runMailet(mailet('AddFooter'), await h.mail(MESSAGE), { text: '-- footer' });
    expect(await h.message(plain)).toMatch(/Body line\r\n\r\n-- footer\r\n$/);
    const multipart = 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8=\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n\r\nJVBERi0=\r\n--b1--\r\n';
    const out = await h.message(await h.runMailet(mailet('AddFooter'), await h.mail(multipart), { text: 'Sent by Postflow' }));
    const b64 = /base64\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--b1/.exec(out)![1];
    expect(Buffer.from(b64.replace(/\r\n/g, ''), 'base64').toString()).toBe('Hello\r\nSent by Postflow\r\n');
    expect(out).toContain('JVBERi0=');
  });

  it('matchers: RelayLimit, HasHeader, HasAttachment, SizeGreaterThan, RemoteAddrInNetwork, AtMost, SubjectIs', async () => {
    const mail = await h.mail(MESSAGE, { recipients: ['b@local.test', 'c@remote.test'] });
    expect(await h.runMatcher(matcher('RelayLimit'), mail, '2')).toHaveLength(2);
    expect(await h.runMatcher(matcher('RelayLimit'), mail, '3')).toEqual([]);
    expect(await h.runMatcher(matcher('HasHeader'), mail, 'Bcc+To=b@local.test')).toHaveLength(2);
    expect(await h.runMatcher(matcher('HasHeader'), mail, 'X-Nope')).toEqual([]);
    expect(await h.runMatcher(matcher('HasAttachment'), mail)).toEqual([]);
    expect(await h.runMatcher(matcher('SizeGreaterThan'), mail, '1k')).toEqual([]);
    expect(await h.runMatcher(matcher('RemoteAddrInNetwork'), mail, '192.0.2.0/24')).toHaveLength(2);
    expect(await h.runMatcher(matcher('RecipientIsLocal'), mail)).toEqual(['b@local.test']);
    expect(await h.runMatcher(matcher('HostIsLocal'), mail)).toEqual(['b@local.test']);
    expect(await h.runMatcher(matcher('SubjectIs'), mail, 'Héllo')).toHaveLength(2);
    expect(await h.runMatcher(matcher('AtMost'), { ...mail, attributes: { AT_MOST_EXECUTIONS_AT_MOST_EXECUTIONS: 2 } }, '2')).toEqual([]);
  });

  it('PostmasterAlias rewrites postmaster of local domains; AddDeliveredToHeader sets per-recipient headers', async () => {
    const mail = await h.mail(MESSAGE, { recipients: ['postmaster@local.test', 'postmaster@remote.test'] });
    expect((await h.runMailet(mailet('PostmasterAlias'), mail)).recipients).toEqual(['postmaster@local.test', 'postmaster@remote.test']);
    const delivered = await h.runMailet(mailet('AddDeliveredToHeader'), await h.mail(MESSAGE));
    expect(delivered.attributes['org.apache.james.perRecipientHeaders']).toEqual({ 'user@local.test': [['Delivered-To', 'user@local.test']] });
  });

  it('Forward and DSNBounce send new mails idempotently (same id on a re-run), never a bounce to <>', async () => {
    const mail = await h.mail(MESSAGE, { errorMessage: '550 5.1.1 unknown' });
    await h.runMailet(mailet('Forward'), mail, { forwardTo: 'x@remote.test' });
    await h.runMailet(mailet('Forward'), mail, { forwardTo: 'x@remote.test' });
    expect(h.sent).toHaveLength(2);
    expect(h.sent[0].mailId).toBe(h.sent[1].mailId);
    expect(h.sent[0].attributes['org.apache.james.SentByMailet']).toBeDefined();
    await h.runMailet(mailet('DSNBounce'), mail, { passThrough: 'false' });
    const dsn = h.sent[2];
    expect(dsn).toMatchObject({ sender: null, recipients: ['sender@remote.test'] });
    expect(await h.message(dsn)).toContain('Status: 5.1.1');
    await h.runMailet(mailet('DSNBounce'), { ...mail, sender: null }, {});
    expect(h.sent).toHaveLength(3);
  });

  it('RemoteDelivery asks for one delivery per domain and ghosts the mail', async () => {
    const mail = await h.mail(MESSAGE, { recipients: ['a@one.test', 'b@two.test', 'c@one.test'] });
    const out = await h.runMailet(mailet('RemoteDelivery'), mail, { delayTime: '2*1 s, 5 minutes', maxRetries: '3', bounceProcessor: 'bounces' });
    expect(out.state).toBe('ghost');
    expect(h.outgoing.map((o) => [o.domain, o.mail.recipients])).toEqual([['one.test', ['a@one.test', 'c@one.test']], ['two.test', ['b@two.test']]]);
    expect(h.outgoing[0].settings).toMatchObject({ delaysMs: [1000, 1000, 300000], maxRetries: 3, bounceProcessor: 'bounces' });
  });

  it('DKIMSign signs and DKIMVerify verifies with the published key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const signed = await h.runMailet(mailet('DKIMSign'), await h.mail(MESSAGE), { signatureTemplate: 'v=1; s=sel; d=remote.test; h=from:to:subject; a=rsa-sha256; bh=; b=;', privateKey: pem });
    expect(await h.message(signed)).toMatch(/^DKIM-Signature: .*d=remote\.test/);
    const verifier = await createMailetHarness({ services: { resolveTxt: async (name) => (name === 'sel._domainkey.remote.test' ? [[`v=DKIM1; k=rsa; p=${der}`]] : []) } });
    try {
      const copy = await verifier.mail(await h.message(signed));
      const verified = await verifier.runMailet(mailet('DKIMVerify'), copy);
      expect(verified.attributes['org.apache.james.jdkim.mailets.DKIMVerify.result']).toBe('pass');
      const tampered = await verifier.mail((await h.message(signed)).replace('Body line', 'Changed'));
      expect((await verifier.runMailet(mailet('DKIMVerify'), tampered)).attributes['org.apache.james.jdkim.mailets.DKIMVerify.result']).toMatch(/^(fail|neutral)$/);
    } finally {
      verifier.cleanup();
    }
  });
});

describe('configuration helpers', () => {
  it('reads James\' mailetcontainer.xml with composite matchers, notmatch and exception modes', () => {
    const graph = parseJamesXml(`<?xml version="1.0"?>
<mailetcontainer><processors>
  <processor state="root"><mailet match="All" class="org.apache.james.transport.mailets.ToProcessor"><processor>transport</processor></mailet></processor>
  <processor state="transport">
    <matchers><matcher name="relay-allowed" match="org.apache.james.mailetcontainer.impl.matchers.Or">
      <matcher match="SMTPAuthSuccessful"/><matcher match="SMTPIsAuthNetwork"/>
    </matcher></matchers>
    <mailet match="All" class="RemoveMimeHeader"><name>bcc</name><onMailetException>ignore</onMailetException></mailet>
    <mailet notmatch="relay-allowed" class="ToRepository"><repositoryPath>cassandra://var/mail/relay-denied/</repositoryPath></mailet>
  </processor>
  <processor state="error"><mailet match="All" class="Null"/></processor>
</processors></mailetcontainer>`);
    const transport = graph.processors.find((p) => p.name === 'transport')!;
    expect(transport.matchers).toEqual([{ name: 'relay-allowed', operator: 'Or', matchers: ['SMTPAuthSuccessful', 'SMTPIsAuthNetwork'] }]);
    expect(transport.steps[0]).toMatchObject({ matcher: 'All', mailet: 'RemoveMimeHeader', params: { name: 'bcc' }, onMailetException: 'ignore' });
    expect(transport.steps[1]).toMatchObject({ matcher: 'relay-allowed', notMatch: true, mailet: 'ToRepository' });
    const compiled = new MailetRegistry().compile(graph);
    expect(compiled.processors.transport[1].params.repositoryPath).toBe('cassandra://var/mail/relay-denied/');
  });

  it('parses James delays', () => {
    expect(parseDelays('5000, 100000, 500000')).toEqual([5000, 100000, 500000]);
    expect(parseDelays('2*5 minutes, 1 h')).toEqual([300000, 300000, 3600000]);
    expect(() => parseDelays('soon')).toThrow('invalid delay');
  });

  it('builds an RFC 3464 report with one block per recipient', () => {
    const report = buildReport({
      kind: 'report', reportingMta: 'mx.test', from: 'postmaster@mx.test', to: 's@a.test', subject: '[FAILURE] hi', text: 'sorry',
      recipients: [{ recipient: 'r@b.test', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 no' }],
      original: Buffer.from('Subject: hi\r\n\r\nbody'), attach: 'headers', arrivalDate: new Date(0), seed: 's', date: new Date(0),
    }).toString();
    expect(report).toMatch(/multipart\/report; report-type=delivery-status;/);
    expect(report).toContain('Final-Recipient: rfc822; r@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no');
    expect(report).toContain('Content-Type: text/rfc822-headers\r\n\r\nSubject: hi');
  });
});
