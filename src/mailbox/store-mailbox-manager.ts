import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore } from '../blob/api/blob-store';
import { MAIL_BUCKET } from '../blob/api/blob-store';
import { NotFoundError } from '../core/errors';
import type { EventBus, MailboxEvent } from '../events/api/event-bus';
import type { QuotaChecker } from '../quota/api/quota';
import { parseMessage } from '../mime/mime-parser';
import type { ParsedMessage } from '../mime/parsed-message';
import {
  MAX_ANNOTATION_SIZE,
  MAX_ANNOTATIONS_PER_MAILBOX,
  isPrivateKey,
  matchesDepth,
  normalizeAnnotationKey,
  type Annotation,
  type AnnotationDepth,
} from './api/annotations';
import { HasChildrenError, MailboxExistsError, MailboxLimitError, MailboxNotFoundError, MailboxOperationError, MailboxRoleTakenError, NoRightError } from './api/errors';
import { DELETED, SEEN, hasFlag, normalizeFlags } from './api/flags';
import type {
  AccessibleMailbox,
  ContentAppendRequest,
  FetchGroup,
  FetchedMessage,
  FlagsResult,
  MailboxManager,
  MailboxPath,
  MailboxRef,
  UidMapping,
} from './api/mailbox-manager';
import { OTHER_USERS_NAMESPACE, PERSONAL_NAMESPACE } from './api/mailbox-manager';
import type { CopiedMessage, FlagUpdate, MailboxMapper, MessageLocation } from './api/mailbox-mapper';
import { ALL_UIDS, INBOX, type AppendRequest, type MailboxInfo, type MailboxRole, type MessageRecord, type OwnerTotals, type UidRange } from './api/mailbox-store';
import { ancestorsOf, isDescendant, normalizeMailboxName } from './api/names';
import { storeParsedMessage } from './store-parsed-message';
import { newMessageId } from './message-id';
import { composeContent, deriveWithPrefix, openMessageContent, parseWithPrefix, validateHeaderPrefix } from './message-content';
import { ALL_RIGHTS, ANYONE, MAX_ACL_ENTRIES, applyRights, effectiveRights, validateIdentifier, type MailboxAcl, type Right } from './api/rights';
import { DEFAULT_MAILBOXES } from './api/roles';
import { newUidValidity } from './api/uid-validity';

/** Message-IDs of one message looked up for its thread (the newest references matter most). */
export const MAX_THREAD_REFERENCES = 20;
/** Mailbox owners cached by id (an owner never changes: renames stay within the owner's namespace). */
const OWNER_CACHE_SIZE = 10_000;
/** Messages whose parsed data is read in one query while fetching headers. */
const CONTENT_BATCH = 100;
/**
 * Full fetches read bodies up to this size ahead of the consumer (one batch at most, so at most
 * CONTENT_BATCH x this many bytes are held); larger ones are streamed when opened.
 */
export const PREFETCH_MAX_BYTES = 64 * 1024;
/** Body reads in flight at once while prefetching a batch (the blob store's I/O parallelism). */
const PREFETCH_CONCURRENCY = 16;
/**
 * Parsed messages kept by blob id. A blob id is a content address, so its parse never changes:
 * a mail LocalDelivery appends once per recipient (same blob) is read and parsed once.
 */
const PARSE_CACHE_ENTRIES = 64;
/** Bytes of parsed data (headers + search text, estimated) the parse cache holds at most. */
const PARSE_CACHE_BYTES = 16 * 1024 * 1024;

type EventWithoutId = MailboxEvent extends infer E ? (E extends MailboxEvent ? Omit<E, 'eventId'> : never) : never;

/**
 * The MailboxManager over any MailboxMapper (James' StoreMailboxManager): validates names and
 * flags, checks rights, parses messages at append, computes threads and dispatches events.
 */
export class StoreMailboxManager implements MailboxManager {
  private readonly owners = new Map<string, string>();
  private readonly parses = new ParseCache(PARSE_CACHE_ENTRIES, PARSE_CACHE_BYTES);

  constructor(
    private readonly mapper: MailboxMapper,
    private readonly events: EventBus,
    private readonly blobs: BlobStore,
  ) {}

  /** Quota check of every append (James' QuotaChecker); none: unlimited. Set once at start-up. */
  private quotaChecker: QuotaChecker | null = null;

  setQuotaChecker(checker: QuotaChecker | null): void {
    this.quotaChecker = checker;
  }

  /** A copy adds its messages to the target owner's usage (James checks copies as appends). */
  private async checkCopyQuota(owner: string, sourceId: string, ranges: readonly UidRange[]): Promise<void> {
    let count = 0;
    let size = 0;
    for (const range of ranges) {
      for await (const message of this.mapper.listMessages(sourceId, range)) {
        count++;
        size += message.size;
      }
    }
    if (count > 0) await this.quotaChecker?.checkAddition(owner, count, size);
  }

  // ---- mailboxes ----

  async provisionUser(user: string): Promise<MailboxInfo[]> {
    const out: MailboxInfo[] = [];
    for (const { name, role } of DEFAULT_MAILBOXES) {
      const existing = await this.mapper.findMailboxByName(user, name);
      if (existing) {
        out.push(existing);
        continue;
      }
      try {
        out.push(await this.provision(user, name, role));
      } catch (err) {
        if (!(err instanceof MailboxExistsError)) throw err;
        out.push((await this.mapper.findMailboxByName(user, name)) as MailboxInfo);
      }
    }
    return out;
  }

  /** A default mailbox; without its role when the user gave that role to another mailbox already. */
  private async provision(user: string, name: string, role: MailboxRole): Promise<MailboxInfo> {
    let mailbox: MailboxInfo;
    try {
      mailbox = await this.insert(user, name, role);
    } catch (err) {
      if (!(err instanceof MailboxRoleTakenError)) throw err;
      mailbox = await this.insert(user, name, null);
    }
    await this.mapper.subscribe(user, name);
    return mailbox;
  }

  async createMailbox(user: string, ref: MailboxRef, options: { role?: MailboxRole } = {}): Promise<MailboxInfo> {
    const path = this.path(user, ref);
    const role = options.role ?? null;
    if (await this.mapper.findMailboxByName(path.owner, path.name)) throw new MailboxExistsError(`Mailbox ${path.name} already exists`);
    if (path.owner !== user) await this.requireCreateRight(user, path);
    // The usual refusal, before any parent is created; the mapper's insert decides between concurrent creates.
    if (role !== null && (await this.mapper.listMailboxes(path.owner)).some((m) => m.role === role)) throw roleTaken(path.owner, role);
    const parents: MailboxInfo[] = [];
    for (const ancestor of ancestorsOf(path.name)) {
      if (await this.mapper.findMailboxByName(path.owner, ancestor)) continue;
      try {
        parents.push(await this.insert(path.owner, ancestor, null));
      } catch (err) {
        if (!(err instanceof MailboxExistsError)) throw err;
      }
    }
    try {
      return await this.insert(path.owner, path.name, role);
    } catch (err) {
      // A create refused for its role leaves nothing behind: the parents it made go too.
      if (err instanceof MailboxRoleTakenError) await this.removeCreatedParents(path.owner, parents);
      throw err;
    }
  }

  /**
   * Deletes the parents a refused create made, deepest first, each only while it is still empty
   * and childless (a concurrent create may have put a child under it meanwhile: then it stays).
   */
  private async removeCreatedParents(owner: string, parents: readonly MailboxInfo[]): Promise<void> {
    for (const parent of [...parents].reverse()) {
      const current = await this.mapper.findMailboxById(parent.id);
      if (!current || current.messageCount > 0) continue;
      if ((await this.mapper.listMailboxes(owner)).some((m) => isDescendant(m.name, current.name))) continue;
      await this.mapper.deleteMailbox(current.id, owner, current.name);
      this.owners.delete(current.id);
      await this.emit({ type: 'MailboxDeleted', user: owner, mailboxId: current.id, mailboxName: current.name, messageCount: 0, totalSize: 0 });
    }
  }

  async ensureMailbox(owner: string, name: string): Promise<MailboxInfo> {
    const normalized = normalizeMailboxName(name);
    const existing = await this.mapper.findMailboxByName(owner, normalized);
    if (existing) return existing;
    if (normalized === INBOX) await this.provisionUser(owner);
    else {
      try {
        return await this.createMailbox(owner, normalized);
      } catch (err) {
        if (!(err instanceof MailboxExistsError)) throw err;
      }
    }
    const created = await this.mapper.findMailboxByName(owner, normalized);
    if (!created) throw new MailboxNotFoundError(`Mailbox ${normalized} was deleted while being created`);
    return created;
  }

  async getMailbox(user: string, ref: MailboxRef): Promise<MailboxInfo | null> {
    const path = this.path(user, ref);
    const mailbox = await this.mapper.findMailboxByName(path.owner, path.name);
    if (!mailbox) return null;
    if (mailbox.owner === user) return mailbox;
    const rights = await this.rightsOn(user, mailbox);
    return rights.includes('l') || rights.includes('r') ? mailbox : null;
  }

  async getMailboxById(id: string): Promise<MailboxInfo | null> {
    return this.mapper.findMailboxById(id);
  }

  async listMailboxes(owner: string): Promise<MailboxInfo[]> {
    return this.mapper.listMailboxes(owner);
  }

  ownerTotals(owner: string): Promise<OwnerTotals> {
    return this.mapper.ownerTotals(owner);
  }

  async listAccessibleMailboxes(user: string): Promise<AccessibleMailbox[]> {
    const own: AccessibleMailbox[] = (await this.mapper.listMailboxes(user)).map((mailbox) => ({ mailbox, namespace: PERSONAL_NAMESPACE, rights: ALL_RIGHTS }));
    const entries = await this.mapper.listSharedWith([user, ANYONE]);
    const shared: AccessibleMailbox[] = [];
    for (const mailboxId of new Set(entries.map((e) => e.mailboxId))) {
      const mailbox = await this.mapper.findMailboxById(mailboxId);
      if (!mailbox || mailbox.owner === user) continue;
      const rights = effectiveRights(await this.mapper.getAcl(mailboxId), user);
      if (rights.includes('l')) shared.push({ mailbox, namespace: OTHER_USERS_NAMESPACE, rights });
    }
    shared.sort((a, b) => compare(a.mailbox.owner, b.mailbox.owner) || compare(a.mailbox.name, b.mailbox.name));
    return [...own, ...shared];
  }

  async renameMailbox(user: string, from: MailboxRef, to: MailboxRef): Promise<MailboxInfo> {
    const { mailbox: source } = await this.resolve(user, from, 'x');
    const target = this.path(user, to);
    if (target.owner !== source.owner) throw new MailboxOperationError('A mailbox cannot be renamed into another user\'s namespace');
    if (target.name === source.name || (await this.mapper.findMailboxByName(target.owner, target.name))) {
      throw new MailboxExistsError(`Mailbox ${target.name} already exists`);
    }
    if (isDescendant(target.name, source.name)) throw new MailboxOperationError(`Mailbox ${source.name} cannot be renamed into its own child`);
    if (target.owner !== user) await this.requireCreateRight(user, target);

    if (source.name === INBOX) return this.renameInbox(source, target);

    const children = (await this.mapper.listMailboxes(source.owner)).filter((m) => isDescendant(m.name, source.name));
    const renames = [source, ...children].map((m) => ({ mailbox: m, newName: target.name + m.name.slice(source.name.length) }));
    for (const { newName } of renames.slice(1)) {
      if (await this.mapper.findMailboxByName(source.owner, newName)) throw new MailboxExistsError(`Mailbox ${newName} already exists`);
    }
    for (const ancestor of ancestorsOf(target.name)) {
      if (ancestor === source.name || (await this.mapper.findMailboxByName(source.owner, ancestor))) continue;
      try {
        await this.insert(source.owner, ancestor, null);
      } catch (err) {
        if (!(err instanceof MailboxExistsError)) throw err;
      }
    }
    const subscriptions = new Set(await this.mapper.listSubscriptions(source.owner));
    for (const { mailbox, newName } of renames) {
      await this.mapper.renameMailbox(mailbox.id, mailbox.owner, mailbox.name, newName);
      if (subscriptions.has(mailbox.name)) {
        await this.mapper.subscribe(mailbox.owner, newName);
        await this.mapper.unsubscribe(mailbox.owner, mailbox.name);
      }
      await this.emit({ type: 'MailboxRenamed', user: mailbox.owner, mailboxId: mailbox.id, oldName: mailbox.name, newName });
    }
    return (await this.mapper.findMailboxById(source.id)) as MailboxInfo;
  }

  /** RFC 3501 §6.3.5: INBOX's messages move to a new mailbox; INBOX stays, empty, with its children. */
  private async renameInbox(inbox: MailboxInfo, target: MailboxPath): Promise<MailboxInfo> {
    const created = await this.createMailbox(inbox.owner, target);
    const moved = await this.mapper.copy(inbox.id, [ALL_UIDS], created.id, { move: true, savedDate: new Date() });
    await this.emitMoved(inbox, created, moved);
    return (await this.mapper.findMailboxById(created.id)) as MailboxInfo;
  }

  async deleteMailbox(user: string, ref: MailboxRef): Promise<void> {
    const { mailbox } = await this.resolve(user, ref, 'x');
    if (mailbox.name === INBOX) throw new MailboxOperationError('INBOX cannot be deleted');
    const children = (await this.mapper.listMailboxes(mailbox.owner)).filter((m) => isDescendant(m.name, mailbox.name));
    if (children.length > 0) throw new HasChildrenError(`Mailbox ${mailbox.name} has children; delete them first`);
    await this.mapper.deleteMailbox(mailbox.id, mailbox.owner, mailbox.name);
    this.owners.delete(mailbox.id);
    await this.emit({
      type: 'MailboxDeleted',
      user: mailbox.owner,
      mailboxId: mailbox.id,
      mailboxName: mailbox.name,
      messageCount: mailbox.messageCount,
      totalSize: mailbox.size,
    });
  }

  async deleteInbox(user: string): Promise<void> {
    const inbox = await this.mapper.findMailboxByName(user, INBOX);
    if (!inbox) return;
    // An early answer for the usual case; the store decides atomically below.
    const uids = await this.mapper.listUids(inbox.id);
    if (uids.length > 0) throw new MailboxOperationError(`INBOX of ${user} still holds ${uids.length} messages`);
    if ((await this.mapper.listMailboxes(user)).some((m) => isDescendant(m.name, INBOX))) throw new HasChildrenError(`INBOX of ${user} has children; delete them first`);
    // The store looks at the messages themselves (not the counters, which may drift on Cassandra)
    // atomically with the delete: a delivery racing it is kept, or fails and is retried, never lost.
    if (!(await this.mapper.deleteMailboxIfEmpty(inbox.id, user, INBOX))) throw new MailboxOperationError(`INBOX of ${user} still holds messages`);
    this.owners.delete(inbox.id);
    await this.emit({ type: 'MailboxDeleted', user, mailboxId: inbox.id, mailboxName: INBOX, messageCount: 0, totalSize: 0 });
  }

  async subscribe(user: string, name: string): Promise<void> {
    await this.mapper.subscribe(user, normalizeMailboxName(name));
  }

  async unsubscribe(user: string, name: string): Promise<void> {
    await this.mapper.unsubscribe(user, normalizeMailboxName(name));
  }

  async listSubscriptions(user: string): Promise<string[]> {
    return this.mapper.listSubscriptions(user);
  }

  // ---- ACL ----

  async myRights(user: string, ref: MailboxRef): Promise<string> {
    return (await this.resolve(user, ref)).rights;
  }

  async getAcl(user: string, ref: MailboxRef): Promise<MailboxAcl> {
    const { mailbox } = await this.resolve(user, ref, 'a');
    return this.mapper.getAcl(mailbox.id);
  }

  async setRights(user: string, ref: MailboxRef, identifier: string, rights: string, mode: 'replace' | 'add' | 'remove' = 'replace'): Promise<MailboxAcl> {
    validateIdentifier(identifier);
    const { mailbox } = await this.resolve(user, ref, 'a');
    if (identifier.replace(/^-/, '') === mailbox.owner) throw new MailboxOperationError('The owner of a mailbox always has every right');
    const acl = await this.mapper.getAcl(mailbox.id);
    const next = applyRights(acl[identifier] ?? '', rights, mode);
    if (next && acl[identifier] === undefined && Object.keys(acl).length >= MAX_ACL_ENTRIES) {
      throw new MailboxLimitError(`A mailbox ACL holds at most ${MAX_ACL_ENTRIES} entries`);
    }
    await this.mapper.setAclEntry(mailbox.id, mailbox.owner, identifier, next || null);
    if (next) acl[identifier] = next;
    else delete acl[identifier];
    await this.emit({ type: 'MailboxACLUpdated', user: mailbox.owner, mailboxId: mailbox.id, identifier, rights: next });
    return acl;
  }

  // ---- annotations ----

  async getAnnotations(user: string, ref: MailboxRef, keys?: readonly string[], depth: AnnotationDepth = '0'): Promise<Annotation[]> {
    const { mailbox } = await this.resolve(user, ref, 'r');
    const wanted = keys?.map(normalizeAnnotationKey);
    const out: Annotation[] = [];
    for (const [stored, value] of await this.mapper.getAnnotations(mailbox.id)) {
      const key = visibleKey(stored, user);
      if (key === null) continue;
      if (wanted && !wanted.some((w) => matchesDepth(key, w, depth))) continue;
      out.push({ key, value });
    }
    return out.sort((a, b) => compare(a.key, b.key));
  }

  async setAnnotations(user: string, ref: MailboxRef, annotations: readonly Annotation[]): Promise<void> {
    const changes = annotations.map((a) => {
      const key = normalizeAnnotationKey(a.key);
      if (a.value !== null && typeof a.value !== 'string') throw new MailboxLimitError('An annotation value is a string or null');
      if (a.value !== null && Buffer.byteLength(a.value) > MAX_ANNOTATION_SIZE) {
        throw new MailboxLimitError(`Annotation value larger than ${MAX_ANNOTATION_SIZE} octets`, 'METADATA MAXSIZE');
      }
      return { key, stored: isPrivateKey(key) ? `${user}\u0000${key}` : key, value: a.value };
    });
    const needsShared = changes.some((c) => !isPrivateKey(c.key));
    const { mailbox, rights } = await this.resolve(user, ref, 'l');
    if (needsShared && !rights.includes('n')) throw new NoRightError('Writing shared annotations needs the "n" right', 'n');
    const existing = await this.mapper.getAnnotations(mailbox.id);
    const after = new Set(existing.keys());
    for (const c of changes) {
      if (c.value === null) after.delete(c.stored);
      else after.add(c.stored);
    }
    if (after.size > MAX_ANNOTATIONS_PER_MAILBOX && after.size > existing.size) {
      throw new MailboxLimitError(`A mailbox holds at most ${MAX_ANNOTATIONS_PER_MAILBOX} annotations`, 'METADATA TOOMANY');
    }
    for (const c of changes) await this.mapper.setAnnotation(mailbox.id, c.stored, c.value);
  }

  // ---- messages ----

  async appendMessage(mailboxId: string, request: AppendRequest): Promise<MessageRecord> {
    return this.doAppend(await this.ownerOf(mailboxId), mailboxId, request, normalizeFlags(request.flags ?? []));
  }

  async append(user: string, mailboxId: string, request: AppendRequest): Promise<MessageRecord> {
    const { mailbox, rights } = await this.resolveId(user, mailboxId, 'i');
    const flags = normalizeFlags(request.flags ?? []).filter((f) => rights.includes(flagRight(f)));
    return this.doAppend(mailbox.owner, mailboxId, request, flags);
  }

  private async doAppend(owner: string, mailboxId: string, request: AppendRequest, flags: string[]): Promise<MessageRecord> {
    if (!Number.isSafeInteger(request.size) || request.size < 0) throw new MailboxLimitError('Message size must be a non-negative integer');
    if (!(request.internalDate instanceof Date) || Number.isNaN(request.internalDate.getTime())) throw new MailboxLimitError('Invalid internal date');
    const headerPrefix = request.headerPrefix === undefined ? undefined : validateHeaderPrefix(request.headerPrefix);
    const size = request.size + (headerPrefix?.length ?? 0);
    if (request.deliveryKey !== undefined) {
      // Before the quota check: a retried delivery that filled the quota finds its earlier copy.
      const delivered = await this.mapper.findByDeliveryKey(mailboxId, request.deliveryKey);
      if (delivered) {
        // At-least-once events: the first attempt may have stored the message and died before its event.
        await this.emit({ type: 'Added', user: owner, mailboxId, uids: [delivered.uid], modSeq: delivered.modSeq, messages: [eventMessage(delivered)] });
        return delivered;
      }
    }
    if (this.quotaChecker) await this.quotaChecker.checkAddition(owner, 1, size);
    const parsed = await this.parseCopy(request, headerPrefix);
    const messageId = newMessageId();
    const references = threadReferences(parsed);
    const threadId = await this.findThread(owner, parsed, references, messageId);
    const message = await this.mapper.append(mailboxId, {
      messageId,
      threadId,
      blobId: request.blobId,
      size,
      internalDate: request.internalDate,
      savedDate: new Date(),
      flags,
      deliveryKey: request.deliveryKey,
      headerPrefix,
      content: { headers: parsed.headers, summary: parsed.summary, text: parsed.text },
      thread: { owner, mimeMessageIds: references, baseSubject: parsed.summary.threading.baseSubject },
    });
    await this.emit({ type: 'Added', user: owner, mailboxId, uids: [message.uid], modSeq: message.modSeq, messages: [eventMessage(message)] });
    return message;
  }

  async appendContent(user: string, mailboxId: string, request: ContentAppendRequest): Promise<MessageRecord> {
    const { mailbox, rights } = await this.resolveId(user, mailboxId, 'i');
    const flags = normalizeFlags(request.flags ?? []).filter((f) => rights.includes(flagRight(f)));
    if (!(request.internalDate instanceof Date) || Number.isNaN(request.internalDate.getTime())) throw new MailboxLimitError('Invalid internal date');
    const stored = await storeParsedMessage(this.blobs, request.content, { maxBytes: request.maxBytes });
    const { content: _content, maxBytes: _maxBytes, ...rest } = request;
    return this.doAppend(mailbox.owner, mailboxId, { ...rest, blobId: stored.blobId, size: stored.size, parsed: stored.parsed }, flags);
  }

  /**
   * The parse of this copy: the blob's (parsed once, cached by blob id) with the header prefix
   * folded in, derived without reading the blob again when that is exact, parsed whole otherwise.
   */
  private async parseCopy(request: AppendRequest, headerPrefix: Buffer | undefined): Promise<ParsedMessage> {
    const shared = await this.parse(request);
    if (!headerPrefix) return shared;
    return deriveWithPrefix(shared, headerPrefix) ?? parseWithPrefix(this.blobs, { blobId: request.blobId, headerPrefix });
  }

  private async parse(request: AppendRequest): Promise<ParsedMessage> {
    if (request.parsed) {
      this.parses.set(request.blobId, Promise.resolve(request.parsed));
      return request.parsed;
    }
    const cached = this.parses.get(request.blobId);
    // The parse is known, the blob must still be there (an append never references a missing blob).
    if (cached) {
      if (!(await this.blobs.exists(MAIL_BUCKET, request.blobId))) throw new NotFoundError(`Blob ${MAIL_BUCKET}/${request.blobId} not found`);
      return cached;
    }
    const parsing = this.readAndParse(request.blobId);
    this.parses.set(request.blobId, parsing);
    return parsing;
  }

  private async readAndParse(blobId: string): Promise<ParsedMessage> {
    const stream = await this.blobs.read(MAIL_BUCKET, blobId);
    try {
      return await parseMessage(stream);
    } finally {
      stream.destroy();
    }
  }

  /** James' thread guessing: a message joins the thread of a message it references (or that references it) with the same base subject. */
  private async findThread(owner: string, parsed: ParsedMessage, references: string[], messageId: string): Promise<string> {
    if (references.length === 0) return messageId;
    const subject = parsed.summary.threading.baseSubject;
    const entries = await this.mapper.findThreads(owner, references);
    return entries.find((e) => e.baseSubject === subject)?.threadId ?? messageId;
  }

  async *listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageRecord> {
    yield* this.mapper.listMessages(mailboxId, range);
  }

  async listUids(mailboxId: string): Promise<number[]> {
    return this.mapper.listUids(mailboxId);
  }

  async firstUnseenUid(mailboxId: string): Promise<number | null> {
    return this.mapper.firstUnseenUid(mailboxId);
  }

  async addFlags(mailboxId: string, range: UidRange, flags: string[]): Promise<MessageRecord[]> {
    const owner = await this.ownerOf(mailboxId);
    return (await this.doUpdateFlags(owner, mailboxId, [range], { mode: 'add', flags: normalizeFlags(flags) })).updated;
  }

  async *getMessages(user: string, mailboxId: string, ranges: readonly UidRange[], fetch: FetchGroup = 'metadata'): AsyncIterable<FetchedMessage> {
    // An owner has every right on their mailboxes (whatever the ACL says): a session fetching one
    // message per command from its own mailbox skips the mailbox lookup and the ACL read. The owner
    // cache forgets deleted mailboxes; one deleted by another node lists no message.
    if (this.owners.get(mailboxId) !== user) {
      const { mailbox } = await this.resolveId(user, mailboxId, 'r');
      this.remember(mailbox.id, mailbox.owner);
    }
    for (const range of ranges) {
      if (fetch === 'metadata') {
        yield* this.mapper.listMessages(mailboxId, range);
        continue;
      }
      if (fetch === 'headers' && this.mapper.listMessagesWithContent) {
        yield* this.mapper.listMessagesWithContent(mailboxId, range);
        continue;
      }
      let batch: MessageRecord[] = [];
      for await (const message of this.mapper.listMessages(mailboxId, range)) {
        batch.push(message);
        if (batch.length >= CONTENT_BATCH) {
          yield* this.withContent(batch, fetch);
          batch = [];
        }
      }
      if (batch.length > 0) yield* this.withContent(batch, fetch);
    }
  }

  private async *withContent(messages: MessageRecord[], fetch: FetchGroup): AsyncIterable<FetchedMessage> {
    const bodies = fetch === 'full' ? this.prefetchBodies(messages) : new Map<string, Promise<Buffer>>();
    const contents = await this.mapper.getContents([...new Set(messages.map((m) => m.messageId))], false);
    for (const message of messages) {
      const content = contents.get(message.messageId);
      // The parsed summary is read (and parsed, by adapters that store it as JSON) only when used.
      const fetched: FetchedMessage = {
        ...message,
        headers: content?.headers,
        get parsed() {
          return content?.summary;
        },
      };
      if (fetch === 'full') {
        const body = bodies.get(message.blobId);
        fetched.openContent = body ? async () => bufferStream(composeContent(message, await body)) : () => openMessageContent(this.blobs, message);
      }
      yield fetched;
    }
  }

  /**
   * Starts reading the small bodies of a batch, PREFETCH_CONCURRENCY at a time, so a full fetch
   * of many small messages waits for the storage's throughput rather than for one round trip per
   * message. A failed read surfaces when (and only when) its message is opened.
   */
  private prefetchBodies(messages: MessageRecord[]): Map<string, Promise<Buffer>> {
    const limit = limiter(PREFETCH_CONCURRENCY);
    const bodies = new Map<string, Promise<Buffer>>();
    for (const message of messages) {
      if (message.size > PREFETCH_MAX_BYTES || bodies.has(message.blobId)) continue;
      const body = limit(() => this.blobs.readBytes(MAIL_BUCKET, message.blobId));
      body.catch(() => undefined);
      bodies.set(message.blobId, body);
    }
    return bodies;
  }

  async copyMessages(user: string, sourceId: string, ranges: readonly UidRange[], targetId: string): Promise<UidMapping[]> {
    await this.resolveId(user, sourceId, 'r');
    const { mailbox: target } = await this.resolveId(user, targetId, 'i');
    if (this.quotaChecker) await this.checkCopyQuota(target.owner, sourceId, ranges);
    const copied = await this.mapper.copy(sourceId, ranges, targetId, { move: false, savedDate: new Date() });
    if (copied.length > 0) await this.emitAdded(target, copied);
    return copied.map((c) => ({ sourceUid: c.sourceUid, uid: c.message.uid }));
  }

  async moveMessages(user: string, sourceId: string, ranges: readonly UidRange[], targetId: string): Promise<UidMapping[]> {
    const { mailbox: source } = await this.resolveId(user, sourceId, 'r', 't', 'e');
    const { mailbox: target } = await this.resolveId(user, targetId, 'i');
    if (source.id === target.id) throw new MailboxOperationError('Source and target of a move are the same mailbox');
    const moved = await this.mapper.copy(sourceId, ranges, targetId, { move: true, savedDate: new Date() });
    await this.emitMoved(source, target, moved);
    return moved.map((c) => ({ sourceUid: c.sourceUid, uid: c.message.uid }));
  }

  async expunge(user: string, mailboxId: string, ranges: readonly UidRange[] = [ALL_UIDS]): Promise<number[]> {
    const { mailbox } = await this.resolveId(user, mailboxId, 'e');
    const expunged = await this.mapper.expunge(mailboxId, ranges);
    if (expunged.length === 0) return [];
    await this.emit({
      type: 'Expunged',
      user: mailbox.owner,
      mailboxId,
      uids: expunged.map((m) => m.uid),
      modSeq: Math.max(...expunged.map((m) => m.modSeq)),
      messageIds: expunged.map((m) => m.messageId),
    });
    return expunged.map((m) => m.uid);
  }

  async updateFlags(user: string, mailboxId: string, ranges: readonly UidRange[], update: FlagUpdate): Promise<FlagsResult> {
    const flags = normalizeFlags(update.flags);
    if (update.unchangedSince !== undefined && (!Number.isSafeInteger(update.unchangedSince) || update.unchangedSince < 0)) {
      throw new MailboxLimitError('UNCHANGEDSINCE must be a non-negative integer');
    }
    const { mailbox, rights } = await this.resolveId(user, mailboxId);
    const needed = update.mode === 'replace' ? (['s', 't', 'w'] as Right[]) : [...new Set(flags.map(flagRight))];
    for (const right of needed) if (!rights.includes(right)) throw new NoRightError(`Changing these flags needs the "${right}" right`, right);
    return this.doUpdateFlags(mailbox.owner, mailboxId, ranges, { ...update, flags });
  }

  private async doUpdateFlags(owner: string, mailboxId: string, ranges: readonly UidRange[], update: FlagUpdate): Promise<FlagsResult> {
    const result = await this.mapper.updateFlags(mailboxId, ranges, update);
    if (result.updated.length > 0) {
      await this.emit({
        type: 'FlagsUpdated',
        user: owner,
        mailboxId,
        uids: result.updated.map((c) => c.message.uid),
        modSeq: Math.max(...result.updated.map((c) => c.message.modSeq)),
        updates: result.updated.map((c) => ({ uid: c.message.uid, messageId: c.message.messageId, oldFlags: c.oldFlags, newFlags: c.message.flags })),
      });
    }
    return { updated: result.updated.map((c) => c.message), failed: result.failed };
  }

  async *changedSince(user: string, mailboxId: string, modSeq: number): AsyncIterable<MessageRecord> {
    await this.resolveId(user, mailboxId, 'r');
    yield* this.mapper.changedSince(mailboxId, modSeq);
  }

  async expungedSince(user: string, mailboxId: string, modSeq: number): Promise<number[]> {
    if (!Number.isSafeInteger(modSeq) || modSeq < 0) throw new MailboxLimitError('MODSEQ must be a non-negative integer');
    await this.resolveId(user, mailboxId, 'r');
    const records = await this.mapper.expungedSince(mailboxId, modSeq);
    if (records === null) return this.everyUidGone(mailboxId);
    return [...new Set(records.map((e) => e.uid))].sort((a, b) => a - b);
  }

  /**
   * Full resync (the expunge log no longer reaches back far enough): every UID below UIDNEXT that
   * no longer exists. RFC 7162 §3.2.5.2 lets VANISHED (EARLIER) name UIDs the client never saw.
   */
  private async everyUidGone(mailboxId: string): Promise<number[]> {
    const mailbox = await this.mapper.findMailboxById(mailboxId);
    if (!mailbox) throw new MailboxNotFoundError(`Mailbox ${mailboxId} does not exist`);
    const present = await this.mapper.listUids(mailboxId);
    const gone: number[] = [];
    let i = 0;
    for (let uid = 1; uid < mailbox.uidNext; uid++) {
      while (i < present.length && present[i] < uid) i++;
      if (present[i] !== uid) gone.push(uid);
    }
    return gone;
  }

  async getMessageLocations(user: string, messageId: string): Promise<MessageLocation[]> {
    const out: MessageLocation[] = [];
    for (const location of await this.mapper.getLocations(messageId)) {
      const mailbox = await this.mapper.findMailboxById(location.mailboxId);
      if (mailbox && (await this.rightsOn(user, mailbox)).includes('r')) out.push(location);
    }
    return out;
  }

  async getSearchText(user: string, messageId: string): Promise<string | null> {
    if ((await this.getMessageLocations(user, messageId)).length === 0) return null;
    return (await this.mapper.getContents([messageId], true)).get(messageId)?.text ?? null;
  }

  // ---- helpers ----

  private async insert(owner: string, name: string, role: MailboxRole | null): Promise<MailboxInfo> {
    const mailbox = await this.mapper.insertMailbox({ id: randomUUID(), owner, name, uidValidity: newUidValidity(), role });
    this.remember(mailbox.id, owner);
    await this.emit({ type: 'MailboxAdded', user: owner, mailboxId: mailbox.id, mailboxName: name });
    return mailbox;
  }

  private path(user: string, ref: MailboxRef): MailboxPath {
    if (typeof ref === 'string') return { owner: user, name: normalizeMailboxName(ref) };
    return { owner: ref.owner, name: normalizeMailboxName(ref.name) };
  }

  private async rightsOn(user: string, mailbox: { id: string; owner: string }): Promise<string> {
    if (mailbox.owner === user) return ALL_RIGHTS;
    return effectiveRights(await this.mapper.getAcl(mailbox.id), user);
  }

  /** The mailbox and the user's rights; not visible (missing, or neither `l` nor `r`) is MailboxNotFoundError. */
  private async resolve(user: string, ref: MailboxRef, ...needed: Right[]): Promise<{ mailbox: MailboxInfo; rights: string }> {
    const path = this.path(user, ref);
    const mailbox = await this.mapper.findMailboxByName(path.owner, path.name);
    if (!mailbox) throw new MailboxNotFoundError(`Mailbox ${path.name} does not exist`);
    return this.check(user, mailbox, needed);
  }

  private async resolveId(user: string, mailboxId: string, ...needed: Right[]): Promise<{ mailbox: MailboxInfo; rights: string }> {
    const mailbox = await this.mapper.findMailboxById(mailboxId);
    if (!mailbox) throw new MailboxNotFoundError(`Mailbox ${mailboxId} does not exist`);
    return this.check(user, mailbox, needed);
  }

  private async check(user: string, mailbox: MailboxInfo, needed: Right[]): Promise<{ mailbox: MailboxInfo; rights: string }> {
    const rights = await this.rightsOn(user, mailbox);
    if (!rights.includes('l') && !rights.includes('r')) throw new MailboxNotFoundError(`Mailbox ${mailbox.name} does not exist`);
    for (const right of needed) {
      if (!rights.includes(right)) throw new NoRightError(`No "${right}" right on mailbox ${mailbox.name}`, right);
    }
    return { mailbox, rights };
  }

  /** Creating in another user's namespace needs `k` on the nearest existing ancestor (RFC 4314 §4 CREATE). */
  private async requireCreateRight(user: string, path: MailboxPath): Promise<void> {
    for (const ancestor of ancestorsOf(path.name).reverse()) {
      const mailbox = await this.mapper.findMailboxByName(path.owner, ancestor);
      if (!mailbox) continue;
      const rights = await this.rightsOn(user, mailbox);
      if (rights.includes('k')) return;
      if (!rights.includes('l') && !rights.includes('r')) throw new MailboxNotFoundError(`Mailbox ${ancestor} does not exist`);
      throw new NoRightError(`No "k" right on mailbox ${ancestor}`, 'k');
    }
    throw new NoRightError(`Cannot create a top-level mailbox of ${path.owner}`, 'k');
  }

  private async ownerOf(mailboxId: string): Promise<string> {
    const cached = this.owners.get(mailboxId);
    if (cached !== undefined) return cached;
    const mailbox = await this.mapper.findMailboxById(mailboxId);
    if (!mailbox) throw new MailboxNotFoundError(`Mailbox ${mailboxId} does not exist`);
    this.remember(mailboxId, mailbox.owner);
    return mailbox.owner;
  }

  private remember(mailboxId: string, owner: string): void {
    if (this.owners.size >= OWNER_CACHE_SIZE) this.owners.delete(this.owners.keys().next().value as string);
    this.owners.set(mailboxId, owner);
  }

  private async emitAdded(target: MailboxInfo, copied: CopiedMessage[]): Promise<void> {
    await this.emit({
      type: 'Added',
      user: target.owner,
      mailboxId: target.id,
      uids: copied.map((c) => c.message.uid),
      modSeq: Math.max(...copied.map((c) => c.message.modSeq)),
      messages: copied.map((c) => eventMessage(c.message)),
    });
  }

  private async emitMoved(source: MailboxInfo, target: MailboxInfo, moved: CopiedMessage[]): Promise<void> {
    if (moved.length === 0) return;
    await this.emitAdded(target, moved);
    const after = await this.mapper.findMailboxById(source.id);
    await this.emit({
      type: 'Expunged',
      user: source.owner,
      mailboxId: source.id,
      uids: moved.map((c) => c.sourceUid),
      modSeq: after?.highestModSeq ?? 0,
      messageIds: moved.map((c) => c.message.messageId),
    });
    await this.emit({ type: 'MessageMoved', user: target.owner, mailboxId: target.id, sourceMailboxId: source.id, messageIds: moved.map((c) => c.message.messageId) });
  }

  private async emit(event: EventWithoutId): Promise<void> {
    await this.events.dispatch({ ...event, eventId: randomUUID() } as MailboxEvent);
  }
}

/** Runs at most `max` of the tasks given to it at once, the others in the order given. */
function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const run = (): void => {
        active++;
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            waiting.shift()?.();
          });
      };
      if (active < max) run();
      else waiting.push(run);
    });
}

function roleTaken(owner: string, role: MailboxRole): MailboxRoleTakenError {
  return new MailboxRoleTakenError(`Another mailbox of ${owner} has the role ${role}`);
}

function bufferStream(bytes: Buffer): Readable {
  const stream = new Readable({ read() {} });
  stream.push(bytes);
  stream.push(null);
  return stream;
}

/** A bounded LRU of parses by blob id; a failed parse is forgotten so the next append tries again. */
class ParseCache {
  private readonly entries = new Map<string, { parsed: Promise<ParsedMessage>; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(blobId: string): Promise<ParsedMessage> | undefined {
    const entry = this.entries.get(blobId);
    if (!entry) return undefined;
    this.entries.delete(blobId);
    this.entries.set(blobId, entry);
    return entry.parsed;
  }

  set(blobId: string, parsed: Promise<ParsedMessage>): void {
    this.remove(blobId);
    const entry = { parsed, bytes: 0 };
    this.entries.set(blobId, entry);
    this.evict();
    parsed.then(
      (message) => {
        if (this.entries.get(blobId) !== entry) return;
        entry.bytes = message.headers.length + 2 * message.text.length + 1024 * (1 + message.summary.attachments.length);
        this.bytes += entry.bytes;
        if (entry.bytes > this.maxBytes / 4) this.remove(blobId);
        this.evict();
      },
      () => {
        if (this.entries.get(blobId) === entry) this.remove(blobId);
      },
    );
  }

  private remove(blobId: string): void {
    const entry = this.entries.get(blobId);
    if (!entry) return;
    this.entries.delete(blobId);
    this.bytes -= entry.bytes;
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries || (this.bytes > this.maxBytes && this.entries.size > 0)) {
      this.remove(this.entries.keys().next().value as string);
    }
  }
}

function flagRight(flag: string): Right {
  if (hasFlag([flag], SEEN)) return 's';
  if (hasFlag([flag], DELETED)) return 't';
  return 'w';
}

/** Message-IDs a message is threaded by: its own, In-Reply-To and References (newest last, bounded). */
function threadReferences(parsed: ParsedMessage): string[] {
  const t = parsed.summary.threading;
  const ids = [...t.references, ...t.inReplyTo, ...(t.messageId ? [t.messageId] : [])];
  return [...new Set(ids)].slice(-MAX_THREAD_REFERENCES);
}

function eventMessage(message: MessageRecord): { uid: number; modSeq: number; messageId: string; threadId: string; size: number; flags: string[] } {
  return { uid: message.uid, modSeq: message.modSeq, messageId: message.messageId, threadId: message.threadId, size: message.size, flags: message.flags };
}

/** The key a user sees for a stored annotation key, or null for another user's private entry. */
function visibleKey(stored: string, user: string): string | null {
  const separator = stored.indexOf('\u0000');
  if (separator === -1) return stored;
  return stored.slice(0, separator) === user ? stored.slice(separator + 1) : null;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
