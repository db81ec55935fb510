import { TemporaryError } from '../../src/core/errors';
import { MATCHERS } from '../../src/mailet/catalogue/matchers';
import { SECURITY_MAILETS, SPAM_FLAG_ATTRIBUTE, SPAM_STATUS_ATTRIBUTE } from '../../src/mailet/catalogue/security-mailets';
import { createMailetHarness, type TestMailetHarness } from '../../src/mailet/testing';
import { freePort } from '../helpers/ports';
import { startSpamd, type TestSpamd } from '../helpers/spamd';

const spamAssassin = SECURITY_MAILETS.find((m) => m.name === 'SpamAssassin')!;
const isMarkedAsSpam = MATCHERS.find((m) => m.name === 'IsMarkedAsSpam')!;

/** SpamAssassin's own test pattern: any spamd scores it 1000 (rule GTUBE). */
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
const RECIPIENTS = ['alice@spam.test', 'bob@spam.test'];

function message(subject: string, body: string): string {
  return `From: sender@remote.example\r\nTo: ${RECIPIENTS.join(', ')}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.example>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\n${body}\r\n`;
}

/** James' SpamAssassin mailet and IsMarkedAsSpam matcher against a real spamd (Debian `spamd`), started by the test. */
describe('SpamAssassin mailet with a real spamd', () => {
  let spamd: TestSpamd;
  let harness: TestMailetHarness;

  beforeAll(async () => {
    spamd = await startSpamd();
    harness = await createMailetHarness({ services: { spamd: { host: '127.0.0.1', port: spamd.port } } });
  }, 90_000);

  afterAll(async () => {
    harness?.cleanup();
    await spamd?.stop();
  }, 30_000);

  it('marks the GTUBE message as spam for every recipient, and IsMarkedAsSpam matches them all', async () => {
    const mail = await harness.mail(message('cheap pills', `Buy now.\r\n${GTUBE}`), { recipients: RECIPIENTS });
    const checked = await harness.runMailet(spamAssassin, mail);
    const statuses = checked.attributes[SPAM_STATUS_ATTRIBUTE] as Record<string, string>;
    expect(Object.keys(statuses).sort()).toEqual([...RECIPIENTS].sort());
    for (const r of RECIPIENTS) {
      expect(statuses[r]).toMatch(/^Yes, hits=\d+(\.\d+)? required=\d+(\.\d+)?$/);
      expect(Number(/hits=([\d.]+)/.exec(statuses[r])![1])).toBeGreaterThanOrEqual(1000);
    }
    expect(checked.attributes[SPAM_FLAG_ATTRIBUTE]).toEqual(Object.fromEntries(RECIPIENTS.map((r) => [r, 'YES'])));
    expect((await harness.runMatcher(isMarkedAsSpam, checked)).sort()).toEqual([...RECIPIENTS].sort());
  }, 60_000);

  it('marks an ordinary message as ham: IsMarkedAsSpam matches nobody', async () => {
    const mail = await harness.mail(message('meeting notes', 'Hello Alice and Bob,\r\n\r\nthe notes of yesterday are attached to the wiki page.\r\n\r\nRegards'), { recipients: RECIPIENTS });
    const checked = await harness.runMailet(spamAssassin, mail);
    for (const r of RECIPIENTS) expect((checked.attributes[SPAM_STATUS_ATTRIBUTE] as Record<string, string>)[r]).toMatch(/^No, hits=-?[\d.]+ required=[\d.]+$/);
    expect(checked.attributes[SPAM_FLAG_ATTRIBUTE]).toEqual(Object.fromEntries(RECIPIENTS.map((r) => [r, 'NO'])));
    expect(await harness.runMatcher(isMarkedAsSpam, checked)).toEqual([]);
  }, 60_000);

  it('takes spamdHost/spamdPort parameters over the configured service', async () => {
    const unconfigured = await createMailetHarness();
    try {
      const mail = await unconfigured.mail(message('spam by parameter', GTUBE), { recipients: RECIPIENTS });
      const checked = await unconfigured.runMailet(spamAssassin, mail, { spamdHost: '127.0.0.1', spamdPort: spamd.port });
      expect((checked.attributes[SPAM_STATUS_ATTRIBUTE] as Record<string, string>)[RECIPIENTS[0]]).toMatch(/^Yes/);
    } finally {
      unconfigured.cleanup();
    }
  }, 60_000);

  it('fails the step with a temporary error (retried, never "not spam") when spamd cannot be reached', async () => {
    const closed = await freePort();
    const mail = await harness.mail(message('unchecked', GTUBE), { recipients: RECIPIENTS });
    await expect(harness.runMailet(spamAssassin, mail, { spamdHost: '127.0.0.1', spamdPort: closed })).rejects.toBeInstanceOf(TemporaryError);
  });

  it('refuses a bad spamdPort parameter as start-up validation does', async () => {
    const mail = await harness.mail(message('bad parameter', 'x'), { recipients: RECIPIENTS });
    await expect(harness.runMailet(spamAssassin, mail, { spamdPort: 70000 })).rejects.toThrow(/spamdPort/);
    await expect(harness.runMailet(spamAssassin, mail, { spamdPort: 'seven' })).rejects.toThrow(/spamdPort/);
    await expect(harness.runMailet(spamAssassin, mail, { spamHost: 'typo' })).rejects.toThrow(/spamHost|Unrecognized/);
  });
});
