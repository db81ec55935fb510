import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MAIL_BUCKET } from '../../src/blob/api';
import { startPostflow } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { ERROR_REPOSITORY } from '../../src/mailrepository/api/mail-repository-store';
import type { TraceEntry } from '../../src/mailet/graph/walker';
import { adminPut, mailPath, sendMail, sharedWorkflowBundle, startTestNode, TEST_TEMPORAL_ADDRESS, type TestNode, mailWorkflow } from '../helpers/postflow';

const DOMAIN = 'example.test';
const ALICE = `alice@${DOMAIN}`;

const GRAPH = `
processors:
  - name: root
    steps:
      - { matcher: "RelayLimit=5", mailet: Null }
      - { matcher: "SubjectStartsWith=explode", mailet: Explode }
      - { matcher: "SubjectStartsWith=ignore", mailet: Explode, onMailetException: ignore }
      - { matcher: "SubjectStartsWith=propagate", mailet: Explode, onMailetException: propagate }
      - { matcher: "SubjectStartsWith=hang", mailet: Hang, params: { ms: 5000 }, timeoutMs: 500, maxAttempts: 2 }
      - { matcher: ThrowingMatcher, mailet: Null, onMatchException: nomatch }
      - { matcher: "RecipientDomainIs=${DOMAIN}", mailet: SubjectTagger, params: { tag: external } }
      - { matcher: All, mailet: ToProcessor, params: { processor: transport } }
  - name: transport
    steps:
      - { matcher: RecipientIsLocal, mailet: ToProcessor, params: { processor: local-delivery } }
      - { matcher: All, mailet: ToRepository, params: { repositoryPath: "var/mail/relay-denied/" } }
  - name: local-delivery
    steps:
      - { matcher: All, mailet: LocalDelivery }
  - name: error
    steps:
      - { matcher: All, mailet: ToRepository, params: { repositoryPath: "var/mail/error/" } }
`;

function message(subject: string, extra = '', body = 'Hello.\r\n'): string {
  return `${extra}From: Bob <bob@remote.example>\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.example>\r\n\r\n${body}`;
}

describe('mail processing with a custom graph and custom mailets', () => {
  let node: TestNode;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-graph-'));
    writeFileSync(path.join(dir, 'mailetcontainer.yaml'), GRAPH);
    node = await startTestNode('embedded', {
      mailetcontainer: {
        file: path.join(dir, 'mailetcontainer.yaml'),
        customMailetsDirectory: path.resolve(__dirname, '../mailet/fixtures'),
        customMailetPackages: [path.resolve(__dirname, '../../examples/mailets/subject-tagger.ts')],
      },
    });
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${ALICE}`, { password: 'pw' })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function deliver(raw: string): Promise<{ mailId: string; trace: TraceEntry[] }> {
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'bob@remote.example', to: [ALICE] }, raw);
    const { trace } = await mailPath(node, mailId);
    return { mailId, trace };
  }

  async function inboxMessages(): Promise<string[]> {
    const inbox = await node.app.backends.mailboxes.getMailbox(ALICE, 'INBOX');
    const out: string[] = [];
    if (!inbox) return out;
    for await (const m of node.app.backends.mailboxes.listMessages(inbox.id, { from: 1, to: Number.MAX_SAFE_INTEGER })) {
      out.push((await node.app.backends.blobs.readBytes(MAIL_BUCKET, m.blobId)).toString('utf8'));
    }
    return out;
  }

  it('runs the guide\'s example mailet loaded from a custom module', async () => {
    const raw = message('Quarterly report');
    const { trace } = await deliver(raw);
    expect(trace).toContainEqual(expect.objectContaining({ event: 'mailet', mailet: 'SubjectTagger' }));
    expect(await inboxMessages()).toContain(raw.replace('Subject: Quarterly report', 'Subject: [external] Quarterly report'));
  });

  it('returns where the mail ended, and keeps its path once in the history, whole in the trace query', async () => {
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'bob@remote.example', to: [ALICE] }, message('path kept once'));
    const { result, trace } = await mailPath(node, mailId);
    expect(trace).toContainEqual(expect.objectContaining({ event: 'mailet', mailet: 'LocalDelivery', state: 'ghost' }));
    expect(result).toEqual({ mailId, ends: [expect.objectContaining({ event: 'end', mail: mailId, reason: 'ghost' })], steps: trace.length });
    // Every payload of the history: the LocalDelivery entry is in the batch's marker, not again in the result.
    const history = await (await mailWorkflow(node.app.client, mailId)).fetchHistory();
    const payloadTexts: string[] = [];
    for (const event of history.events ?? []) {
      for (const payload of event.workflowExecutionCompletedEventAttributes?.result?.payloads ?? []) payloadTexts.push(Buffer.from(payload.data ?? []).toString('utf8'));
      for (const details of Object.values(event.markerRecordedEventAttributes?.details ?? {})) {
        for (const payload of details.payloads ?? []) payloadTexts.push(Buffer.from(payload.data ?? []).toString('utf8'));
      }
    }
    expect(payloadTexts.join('\n').split('"mailet":"LocalDelivery"')).toHaveLength(2);
  });

  it('sends the mail of a throwing mailet to the error processor and its repository', async () => {
    const { mailId, trace } = await deliver(message('explode now'));
    expect(trace).toContainEqual(expect.objectContaining({ event: 'error', mailet: 'Explode', handling: 'error' }));
    const stored = await node.app.backends.mailRepositories.get(ERROR_REPOSITORY, `${mailId}/${mailId}`);
    expect(stored?.mail.errorMessage).toBe('Explode mailet exploded');
  });

  it('goes on after a throwing mailet whose onMailetException is ignore', async () => {
    const raw = message('ignore the failure');
    const { trace } = await deliver(raw);
    expect(trace).toContainEqual(expect.objectContaining({ event: 'error', mailet: 'Explode', handling: 'ignore' }));
    expect((await inboxMessages()).some((m) => m.includes('Subject: [external] ignore the failure'))).toBe(true);
  });

  it('keeps the mail of a propagating failure in the error repository at the processor it failed in', async () => {
    const { mailId, trace } = await deliver(message('propagate it'));
    expect(trace).toContainEqual(expect.objectContaining({ event: 'end', reason: 'propagated' }));
    const stored = await node.app.backends.mailRepositories.get(ERROR_REPOSITORY, `${mailId}/${mailId}`);
    expect(stored?.mail.state).toBe('root');
    expect(stored?.mail.errorMessage).toContain('Explode mailet exploded');
  });

  it('routes a mailet activity that keeps timing out to the error processor', async () => {
    const { mailId, trace } = await deliver(message('hang forever'));
    const error = trace.find((t) => t.event === 'error' && t.mailet === 'Hang') as { message: string } | undefined;
    expect(error?.message).toMatch(/timed out/i);
    expect(await node.app.backends.mailRepositories.get(ERROR_REPOSITORY, `${mailId}/${mailId}`)).not.toBeNull();
  }, 30_000);

  it('treats a throwing matcher as matching nobody when onMatchException is nomatch', async () => {
    const { trace } = await deliver(message('plain mail'));
    expect(trace).toContainEqual(expect.objectContaining({ event: 'match-error', matcher: 'ThrowingMatcher', handling: 'nomatch' }));
    expect(trace).toContainEqual(expect.objectContaining({ event: 'mailet', mailet: 'LocalDelivery' }));
  });

  it('drops a looping mail (RelayLimit) instead of delivering it', async () => {
    const received = Array.from({ length: 6 }, (_, i) => `Received: from hop${i}.example by hop${i + 1}.example; Mon, 30 Nov 2026 12:00:0${i} +0000\r\n`).join('');
    const { trace } = await deliver(message('looping mail', received));
    expect(trace).toContainEqual(expect.objectContaining({ event: 'mailet', mailet: 'Null', state: 'ghost' }));
    expect((await inboxMessages()).some((m) => m.includes('looping mail'))).toBe(false);
  });

  it('delivers malformed headers, a message without body and 8-bit data sent without 8BITMIME as received', async () => {
    const malformed = `From: <<<not an address\r\nThis line is not a header\r\nSubject: malformed headers\r\n\r\nbody\r\n`;
    const noBody = `From: bob@remote.example\r\nTo: ${ALICE}\r\nSubject: no body\r\n`;
    const eightBit = Buffer.from(`From: bob@remote.example\r\nTo: ${ALICE}\r\nSubject: 8bit without 8BITMIME\r\n\r\nGrüße, ça va\r\n`, 'utf8');
    for (const raw of [malformed, noBody, eightBit.toString('utf8')]) await deliver(raw);
    const inbox = await inboxMessages();
    expect(inbox).toContain(malformed.replace('Subject: malformed headers', 'Subject: [external] malformed headers'));
    expect(inbox.some((m) => m.startsWith('From: bob@remote.example\r\nTo: alice@example.test\r\nSubject: [external] no body'))).toBe(true);
    expect(inbox.some((m) => m.includes('Grüße, ça va'))).toBe(true);
  });
});

describe('start-up validation of the mailet container', () => {
  it('stops start-up on a bad graph file, naming the processor and the step', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-badgraph-'));
    try {
      const file = path.join(dir, 'mailetcontainer.yaml');
      writeFileSync(file, 'processors:\n  - name: root\n    steps:\n      - { matcher: All, mailet: ToProcessor, params: { processor: nowhere } }\n  - name: error\n    steps: []\n');
      const config = loadConfig({ env: {}, overrides: { dataDir: dir, logLevel: 'silent', mailetcontainer: { file }, temporal: { address: TEST_TEMPORAL_ADDRESS } } });
      await expect(startPostflow({ config, logger: pino({ level: 'silent' }), workflowBundle: await sharedWorkflowBundle() })).rejects.toThrow(
        'Invalid mailet configuration in processor root, step 1 (All → ToProcessor): parameter: unknown processor "nowhere"',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
