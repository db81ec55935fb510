import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Counter, register } from 'prom-client';
import { PermanentError } from '../../core/errors';
import { locallyCreatedMail, mailKey, ROOT, type MailReference } from '../../core/mail';
import { MAIL_BUCKET, type BlobStore } from '../../blob/api';
import type { MailboxStore } from '../../mailbox/api/mailbox-store';
import type { MailRepositoryStore } from '../../mailrepository/api/mail-repository-store';
import type { MailetContext, MailetMetrics, MailetServices, NewMail, OutgoingDelivery } from '../api';
import { SENT_BY_MAILET_ATTRIBUTE } from '../catalogue/matchers';
import { stepLabel, type CompiledGraph, type CompiledStep } from '../graph/model';
import { walkGraph, WalkAborted, type Position, type TraceEntry, type Stop, type Propagated } from '../graph/walker';
import { HeaderSection, joinMessage, splitMessage } from '../message/header-section';
import type { MailetRegistry } from '../registry';

/** Largest header section read for matchers (RFC 5322 puts no bound; this keeps a hostile one cheap). */
export const MAX_HEADER_SECTION_BYTES = 1024 * 1024;

export interface MailetRuntimeDeps {
  registry: MailetRegistry;
  graph: CompiledGraph;
  hostname: string;
  postmaster: string;
  isLocalDomain(domain: string): Promise<boolean>;
  isLocalUser(address: string): Promise<boolean>;
  mailboxes: MailboxStore;
  blobs: BlobStore;
  mailRepositories: MailRepositoryStore;
  logger: Logger;
  services?: MailetServices;
  /** Starts the processing of a new mail (its processMail workflow). Idempotent by mail id. */
  submitMail(mail: MailReference): Promise<void>;
  /** `per-step`: every mailet is its own (local) activity, for readable histories; `batched` (default). */
  execution?: 'batched' | 'per-step';
}

export interface AdvanceResult {
  trace: TraceEntry[];
  stops: Stop[];
  propagated: Propagated[];
  outgoing: OutgoingDelivery[];
}

export interface MailetRunResult {
  mail: MailReference;
  outgoing: OutgoingDelivery[];
}

/** Runs matchers and mailets for the mail activities: the in-process side of the graph walk. */
export class MailetRuntime {
  private readonly metrics: MailetMetrics;

  constructor(private readonly deps: MailetRuntimeDeps) {
    this.metrics = promMetrics();
  }

  get graph(): CompiledGraph {
    return this.deps.graph;
  }

  /**
   * Walks positions as far as possible in-process: matchers and `local` mailets run here; the walk
   * stops before `activity` mailets (or every mailet, in per-step mode). Errors other than
   * PermanentError abort the whole walk so the activity is retried, until the last attempt,
   * where they go to the step's exception mode like any other.
   */
  async advance(positions: Position[], attempt: { current: number; max: number }, run = ''): Promise<AdvanceResult> {
    const scope = new RunScope(this.deps, this.metrics, run);
    const lastAttempt = attempt.current >= attempt.max;
    const guard = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (err) {
        if (!lastAttempt && !(err instanceof PermanentError)) throw new WalkAborted(err);
        throw err;
      }
    };
    const perStep = this.deps.execution === 'per-step';
    const result = await walkGraph(
      this.deps.graph,
      positions,
      {
        match: (leaf, step, mail) =>
          guard(() => this.deps.registry.matcher(leaf.name).match(mail, scope.context(step, mail), this.deps.registry.condition(leaf.name, leaf.condition))),
        service: (step, mail) => guard(() => this.deps.registry.mailet(step.mailet).service(mail, scope.context(step, mail), this.deps.registry.params(step))),
      },
      { stopBefore: (step) => perStep || step.execution === 'activity' },
    );
    return { ...result, outgoing: scope.outgoing };
  }

  /** A context for one step run (tests of custom matchers use it). */
  contextFor(step: CompiledStep, mail: MailReference, run = ''): MailetContext {
    return new RunScope(this.deps, this.metrics, run).context(step, mail);
  }

  /** Runs one mailet (a durable step, or any step in per-step mode). */
  async runMailet(step: CompiledStep, mail: MailReference, run = ''): Promise<MailetRunResult> {
    const scope = new RunScope(this.deps, this.metrics, run);
    const after = await this.deps.registry.mailet(step.mailet).service(mail, scope.context(step, mail), this.deps.registry.params(step));
    return { mail: after, outgoing: scope.outgoing };
  }
}

/** State of one activity run: message caches, lookups, remote deliveries asked for. */
class RunScope {
  readonly outgoing: OutgoingDelivery[] = [];
  private readonly headerCache = new Map<string, Promise<HeaderSection>>();
  private readonly messageCache = new Map<string, Promise<Buffer>>();
  private readonly userCache = new Map<string, Promise<boolean>>();
  private readonly domainCache = new Map<string, Promise<boolean>>();

  /**
   * @param run the processing run the step belongs to (its workflow id): a mail sent by a step
   *   gets an id derived from the run, the mail's key, the step and the send, so a retried step
   *   sends the same mail again (started once) while a reprocessing of the mail (another run)
   *   sends a new one, as James does.
   */
  constructor(
    private readonly deps: MailetRuntimeDeps,
    private readonly metrics: MailetMetrics,
    private readonly run: string,
  ) {}

  context(step: CompiledStep, current: MailReference): MailetContext {
    const { deps, run } = this;
    let sent = 0;
    const { messageCache, outgoing } = this;
    return {
      hostname: deps.hostname,
      postmaster: deps.postmaster,
      mailboxes: deps.mailboxes,
      blobs: deps.blobs,
      mailRepositories: deps.mailRepositories,
      services: deps.services ?? {},
      metrics: this.metrics,
      logger: deps.logger.child({ mailId: current.mailId, mail: current.name, step: stepLabel(step) }),
      isLocalDomain: (domain) => memo(this.domainCache, domain.toLowerCase(), () => deps.isLocalDomain(domain.toLowerCase())),
      isLocalUser: (address) => memo(this.userCache, address.toLowerCase(), () => deps.isLocalUser(address)),
      headers: (mail) => memo(this.headerCache, mail.messageBlobId, async () => HeaderSection.parse(await readHeaderSection(deps.blobs, mail.messageBlobId))),
      message: (mail) => memo(this.messageCache, mail.messageBlobId, () => deps.blobs.readBytes(MAIL_BUCKET, mail.messageBlobId)),
      async withMessage(mail, message) {
        const stored = await deps.blobs.put(MAIL_BUCKET, message);
        messageCache.set(stored.blobId, Promise.resolve(message));
        return { ...mail, messageBlobId: stored.blobId, size: stored.size };
      },
      async editHeaders(mail, edit) {
        const message = await this.message(mail);
        const { header, body } = splitMessage(message);
        const headers = HeaderSection.parse(header);
        edit(headers);
        if (!headers.modified) return mail;
        return this.withMessage(mail, joinMessage(headers, body));
      },
      async sendMail(request: NewMail) {
        if (request.recipients.length === 0) throw new PermanentError('A mail sent by a mailet needs at least one recipient');
        const key = request.key ?? String(++sent);
        const mailId = derivedMailId(`${run}|${mailKey(current)}|${stepLabel(step)}|${key}`);
        const stored = await deps.blobs.put(MAIL_BUCKET, request.message);
        await deps.submitMail(
          locallyCreatedMail({
            mailId,
            sender: request.sender,
            recipients: request.recipients,
            messageBlobId: stored.blobId,
            size: stored.size,
            state: request.state ?? ROOT,
            attributes: { ...(request.attributes ?? {}), [SENT_BY_MAILET_ATTRIBUTE]: stepLabel(step) },
          }),
        );
        return mailId;
      },
      deliverRemotely(delivery) {
        outgoing.push(delivery);
      },
    };
  }
}

function memo<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (!value) {
    value = load();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}

/** A UUID-shaped id derived from a seed: the same seed (a retried step) gives the same mail id. */
export function derivedMailId(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Reads a message's header section only (up to the empty line), streaming. */
async function readHeaderSection(blobs: BlobStore, blobId: string): Promise<Buffer> {
  const stream: Readable = await blobs.read(MAIL_BUCKET, blobId);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      const joined = Buffer.concat(chunks);
      const end = headerEnd(joined);
      if (end >= 0) return joined.subarray(0, end);
      if (length > MAX_HEADER_SECTION_BYTES) return joined.subarray(0, MAX_HEADER_SECTION_BYTES);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

function headerEnd(buffer: Buffer): number {
  if (buffer.subarray(0, 2).toString() === '\r\n') return 0;
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : -1;
}

let counter: Counter<'metric'> | null = null;

/** MetricsMailet counters on prom-client's default registry (WebAdmin `/metrics`). */
function promMetrics(): MailetMetrics {
  counter ??=
    (register.getSingleMetric('postflow_mailet_metric_total') as Counter<'metric'> | undefined) ??
    new Counter({ name: 'postflow_mailet_metric_total', help: 'Counters bumped by MetricsMailet and the catalogue, by metric name', labelNames: ['metric'] });
  const c = counter;
  return { increment: (name, by = 1) => c.inc({ metric: name }, by) };
}

export { initialPosition } from '../graph/walker';
export type { Position } from '../graph/walker';
export { stepLabel };
