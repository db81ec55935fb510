import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { MAIL_BUCKET, type BlobStore } from '../blob/api';
import { FileBlobStore } from '../blob/file/file-blob-store';
import { ROOT, type MailReference } from '../core/mail';
import type { MailboxStore } from '../mailbox/api/mailbox-store';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';
import type { MailetServices, NewMail, OutgoingDelivery } from './api';
import { MailetRegistry } from './registry';
import { MailetRuntime } from './runtime/mailet-runtime';
import type { AnyMailet, AnyMatcher } from './api';
import type { CompiledStep } from './graph/model';

export interface TestMailetHarness {
  /** A real (file) blob store in a temporary folder. */
  blobs: BlobStore;
  /** Mails the mailet sent (`context.sendMail`). */
  sent: Array<MailReference>;
  /** Remote deliveries it asked for. */
  outgoing: OutgoingDelivery[];
  /** Stores a message and returns a mail referencing it. */
  mail(message: string | Buffer, envelope?: Partial<MailReference>): Promise<MailReference>;
  /** Reads a mail's message back. */
  message(mail: MailReference): Promise<string>;
  /** Runs a mailet with its parameters checked as at start-up. */
  runMailet(mailet: AnyMailet, mail: MailReference, params?: Record<string, unknown>): Promise<MailReference>;
  /** Runs a matcher with its condition parsed as at start-up. */
  runMatcher(matcher: AnyMatcher, mail: MailReference, condition?: string): Promise<string[]>;
  cleanup(): void;
}

/**
 * A harness for unit tests of custom matchers and mailets: the same runtime and context the
 * server uses, over a real file blob store. Local users/domains are given as lists.
 */
export async function createMailetHarness(options: { localDomains?: string[]; localUsers?: string[]; services?: MailetServices; mailboxes?: MailboxStore; mailRepositories?: MailRepositoryStore } = {}): Promise<TestMailetHarness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-mailet-'));
  const blobs = await new FileBlobStore(dir).init();
  const sent: MailReference[] = [];
  const outgoing: OutgoingDelivery[] = [];
  const unavailable = (what: string) =>
    new Proxy({}, { get: () => () => Promise.reject(new Error(`${what} is not available in this test harness: pass it to createMailetHarness`)) });
  const runtimeFor = (registry: MailetRegistry) =>
    new MailetRuntime({
      registry,
      graph: { processors: {} },
      hostname: 'mail.test',
      postmaster: `postmaster@${options.localDomains?.[0] ?? 'localhost'}`,
      isLocalDomain: async (d) => (options.localDomains ?? []).includes(d.toLowerCase()),
      isLocalUser: async (a) => (options.localUsers ?? []).includes(a.toLowerCase()),
      mailboxes: options.mailboxes ?? (unavailable('mailboxes') as MailboxStore),
      blobs,
      mailRepositories: options.mailRepositories ?? (unavailable('mailRepositories') as MailRepositoryStore),
      logger: pino({ level: 'silent' }),
      services: options.services,
      submitMail: async (m) => {
        sent.push(m);
      },
    });
  const step = (mailet: string, params: Record<string, unknown>): CompiledStep => ({
    processor: 'test',
    index: 0,
    matcher: { kind: 'simple', name: 'All', condition: undefined },
    matcherSpec: 'All',
    mailet,
    params: params as CompiledStep['params'],
    notMatch: false,
    onMailetException: 'error',
    onMatchException: 'error',
    execution: 'local',
  });
  return {
    blobs,
    sent,
    outgoing,
    async mail(message, envelope = {}) {
      const stored = await blobs.put(MAIL_BUCKET, Buffer.from(message));
      const mailId = randomUUID();
      return {
        mailId,
        name: mailId,
        sender: 'sender@remote.test',
        recipients: ['user@local.test'],
        messageBlobId: stored.blobId,
        size: stored.size,
        state: ROOT,
        remoteAddr: '192.0.2.1',
        remoteHost: 'client.remote.test',
        authUser: null,
        receivedAt: new Date().toISOString(),
        attributes: {},
        errorMessage: null,
        ...envelope,
      };
    },
    async message(mail) {
      return (await blobs.readBytes(MAIL_BUCKET, mail.messageBlobId)).toString('utf8');
    },
    async runMailet(mailet, mail, params = {}) {
      const registry = new MailetRegistry([], [mailet]);
      const s = step(mailet.name, params);
      const result = await runtimeFor(registry).runMailet(s, mail);
      outgoing.push(...result.outgoing);
      return result.mail;
    },
    async runMatcher(matcher, mail, condition) {
      const registry = new MailetRegistry([matcher], []);
      const runtime = runtimeFor(registry);
      const context = runtime.contextFor(step('none', {}), mail);
      const outcome = await matcher.match(mail, context, registry.condition(matcher.name, condition));
      return Array.isArray(outcome) ? outcome : outcome.recipients;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type { NewMail };
