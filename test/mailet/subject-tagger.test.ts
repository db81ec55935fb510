import { createMailetHarness, type TestMailetHarness } from '../../src/mailet/testing';
import { recipientDomainIs, subjectTagger } from '../../examples/mailets/subject-tagger';

const MESSAGE = 'From: a@remote.test\r\nTo: b@local.test\r\nSubject: Quarterly report\r\n\r\nBody stays as it is.\r\n';

describe('the guide\'s example mailet', () => {
  let harness: TestMailetHarness;

  beforeEach(async () => {
    harness = await createMailetHarness();
  });

  afterEach(() => harness.cleanup());

  it('prefixes the subject once and leaves the body untouched', async () => {
    const mail = await harness.mail(MESSAGE);
    const tagged = await harness.runMailet(subjectTagger, mail, { tag: 'external' });
    expect(await harness.message(tagged)).toBe(MESSAGE.replace('Subject: Quarterly report', 'Subject: [external] Quarterly report'));
    expect(tagged.attributes['org.example.tagged']).toBe('external');
    const again = await harness.runMailet(subjectTagger, tagged, { tag: 'external' });
    expect(again.messageBlobId).toBe(tagged.messageBlobId);
  });

  it('refuses a bad tag at start-up, naming the parameter', async () => {
    const mail = await harness.mail(MESSAGE);
    await expect(harness.runMailet(subjectTagger, mail, { tag: 'has spaces' })).rejects.toThrow(/tag.*letters/);
  });

  it('matches recipients by domain', async () => {
    const mail = await harness.mail(MESSAGE, { recipients: ['x@example.com', 'y@other.org', 'z@EXAMPLE.com'] });
    expect(await harness.runMatcher(recipientDomainIs, mail, 'example.com')).toEqual(['x@example.com', 'z@EXAMPLE.com']);
    await expect(harness.runMatcher(recipientDomainIs, mail, undefined)).rejects.toThrow('needs a comma-separated list');
  });
});
