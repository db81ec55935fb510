import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { BlobId, BlobInfo, BlobStore, StoredBlob } from '../../../src/blob/api/blob-store';
import { NotFoundError } from '../../../src/core/errors';
import type { EventBus, EventListener, MailboxEvent, Registration } from '../../../src/events/api/event-bus';
import type { AppendRequest, Mailbox, MailboxStore, MessageMetadata, UidRange } from '../../../src/mailbox/api/mailbox-store';
/*
 * In-memory doubles of our own ports (not engines): the real adapters have their contract suites;
 * here they only give the server something to serve.
 */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Buffer>();
  failReads: Error | null = null;

  async put(bucket: string, data: Readable | Buffer): Promise<StoredBlob> {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(await data.toArray());
    const blobId = createHash('sha256').update(bytes).digest('hex');
    this.blobs.set(`${bucket}/${blobId}`, bytes);
    return { blobId, size: bytes.length };
  }

  async read(bucket: string, blobId: BlobId): Promise<Readable> {
    if (this.failReads) throw this.failReads;
    const bytes = this.blobs.get(`${bucket}/${blobId}`);
    if (!bytes) throw new NotFoundError(`Blob ${blobId} not found`);
    // Several chunks, as a real store streams them.
    return Readable.from(
      (function* () {
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024) yield bytes.subarray(offset, offset + 64 * 1024);
      })(),
    );
  }

  async readBytes(bucket: string, blobId: BlobId): Promise<Buffer> {
    if (this.failReads) throw this.failReads;
    const bytes = this.blobs.get(`${bucket}/${blobId}`);
    if (!bytes) throw new NotFoundError(`Blob ${blobId} not found`);
    return bytes;
  }

  async exists(bucket: string, blobId: BlobId): Promise<boolean> {
    return this.blobs.has(`${bucket}/${blobId}`);
  }

  async delete(bucket: string, blobId: BlobId): Promise<void> {
    this.blobs.delete(`${bucket}/${blobId}`);
  }

  async stat(bucket: string, blobId: BlobId): Promise<BlobInfo | null> {
    const bytes = this.blobs.get(`${bucket}/${blobId}`);
    return bytes ? { blobId, size: bytes.length, lastModified: new Date(0) } : null;
  }

  async deleteIfUnmodifiedSince(bucket: string, blobId: BlobId): Promise<boolean> {
    return this.blobs.delete(`${bucket}/${blobId}`);
  }

  // eslint-disable-next-line require-yield
  async *list(): AsyncIterable<BlobInfo[]> {
    return;
  }
}

/** Key listeners only (what IMAP registers); events dispatched synchronously, like the in-process bus. */
export class MemoryKeyBus implements Pick<EventBus, 'registerMailboxListener'> {
  readonly listeners = new Map<string, Set<EventListener>>();

  async registerMailboxListener(mailboxId: string, listener: EventListener): Promise<Registration> {
    const set = this.listeners.get(mailboxId) ?? new Set<EventListener>();
    this.listeners.set(mailboxId, set);
    set.add(listener);
    return { unregister: async () => void set.delete(listener) };
  }

  async dispatch(event: MailboxEvent): Promise<void> {
    for (const listener of this.listeners.get(event.mailboxId) ?? []) await listener.handle(event);
  }

  get registrations(): number {
    return [...this.listeners.values()].reduce((n, set) => n + set.size, 0);
  }
}

export class MemoryMailboxStore implements MailboxStore {
  /** When set, appends and flag changes dispatch their events here (as EventingMailboxStore does). */
  bus: MemoryKeyBus | null = null;
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly messages = new Map<string, MessageMetadata[]>();
  private nextId = 1;

  async createMailbox(owner: string, name: string): Promise<Mailbox> {
    const mailbox: Mailbox = { id: `mb${this.nextId++}`, owner, name, uidValidity: 1000 + this.nextId, uidNext: 1, highestModSeq: 0, messageCount: 0 };
    this.mailboxes.set(mailbox.id, mailbox);
    this.messages.set(mailbox.id, []);
    return { ...mailbox };
  }

  async ensureMailbox(owner: string, name: string): Promise<Mailbox> {
    return (await this.getMailbox(owner, name)) ?? this.createMailbox(owner, name);
  }

  async getMailbox(owner: string, name: string): Promise<Mailbox | null> {
    const found = [...this.mailboxes.values()].find((m) => m.owner === owner && m.name === name);
    return found ? { ...found } : null;
  }

  async getMailboxById(id: string): Promise<Mailbox | null> {
    const found = this.mailboxes.get(id);
    return found ? { ...found } : null;
  }

  async listMailboxes(owner: string): Promise<Mailbox[]> {
    return [...this.mailboxes.values()].filter((m) => m.owner === owner).map((m) => ({ ...m }));
  }

  async appendMessage(mailboxId: string, request: AppendRequest): Promise<MessageMetadata> {
    const mailbox = this.mailbox(mailboxId);
    mailbox.highestModSeq++;
    const message: MessageMetadata = {
      mailboxId,
      uid: mailbox.uidNext++,
      modSeq: mailbox.highestModSeq,
      messageId: `msg-${mailboxId}-${mailbox.uidNext}`,
      blobId: request.blobId,
      size: request.size,
      internalDate: request.internalDate,
      flags: [...(request.flags ?? [])],
    };
    this.list(mailboxId).push(message);
    mailbox.messageCount++;
    await this.bus?.dispatch({ type: 'Added', eventId: `e${message.modSeq}`, user: mailbox.owner, mailboxId, uids: [message.uid], modSeq: message.modSeq });
    return { ...message, flags: [...message.flags] };
  }

  async *listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageMetadata> {
    for (const message of this.list(mailboxId)) {
      if (message.uid >= range.from && message.uid <= range.to) yield { ...message, flags: [...message.flags] };
    }
  }

  async listUids(mailboxId: string): Promise<number[]> {
    return this.list(mailboxId).map((m) => m.uid);
  }

  async firstUnseenUid(mailboxId: string): Promise<number | null> {
    return this.list(mailboxId).find((m) => !m.flags.some((flag) => flag.toLowerCase() === '\\seen'))?.uid ?? null;
  }

  async addFlags(mailboxId: string, range: UidRange, flags: string[]): Promise<MessageMetadata[]> {
    const updated: MessageMetadata[] = [];
    for (const message of this.list(mailboxId)) {
      if (message.uid < range.from || message.uid > range.to) continue;
      for (const flag of flags) if (!message.flags.includes(flag)) message.flags.push(flag);
      message.modSeq = ++this.mailbox(mailboxId).highestModSeq;
      updated.push({ ...message, flags: [...message.flags] });
    }
    if (updated.length > 0) {
      const event: MailboxEvent = { type: 'FlagsUpdated', eventId: 'f', user: '', mailboxId, uids: updated.map((m) => m.uid), modSeq: updated[0].modSeq };
      await this.bus?.dispatch(event);
    }
    return updated;
  }

  /** Test helper: what another protocol's expunge would do. */
  remove(mailboxId: string, uid: number): void {
    this.messages.set(
      mailboxId,
      this.list(mailboxId).filter((m) => m.uid !== uid),
    );
  }

  flagsOf(mailboxId: string, uid: number): string[] {
    return this.list(mailboxId).find((m) => m.uid === uid)?.flags ?? [];
  }

  private mailbox(id: string): Mailbox {
    const mailbox = this.mailboxes.get(id);
    if (!mailbox) throw new NotFoundError(`Mailbox ${id} not found`);
    return mailbox;
  }

  private list(mailboxId: string): MessageMetadata[] {
    this.mailbox(mailboxId);
    return this.messages.get(mailboxId) as MessageMetadata[];
  }
}

/** A raw IMAP peer for what a well-behaved client library would never send. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;
  private raw: ((chunk: Buffer) => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (this.raw) return this.raw(chunk);
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and logs in with LOGIN; rejects with the server's answer when it is not OK. */
  static async login(port: number, user: string, password: string): Promise<RawClient> {
    const { client } = await RawClient.connect(port);
    const answer = (await client.command('l1', `LOGIN ${user} "${password}"`)).at(-1) ?? '';
    if (!answer.startsWith('l1 OK')) {
      client.close();
      throw new Error(`LOGIN ${user} failed: ${answer}`);
    }
    return client;
  }

  static async connect(port: number): Promise<{ client: RawClient; greeting: string }> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawClient(socket);
    return { client, greeting: await client.readLine() };
  }

  /** From now on received bytes go to `handler` (compressed streams) instead of the line reader. */
  onRaw(handler: (chunk: Buffer) => void): void {
    this.raw = handler;
  }

  get closed(): boolean {
    return this.ended;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async readLine(): Promise<string> {
    for (;;) {
      const lf = this.buffer.indexOf(0x0a);
      if (lf !== -1) {
        const line = this.buffer.subarray(0, lf).toString('latin1').replace(/\r$/, '');
        this.buffer = this.buffer.subarray(lf + 1);
        return line;
      }
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** Reads `size` raw bytes (a literal announced by the previous line). */
  async readBytes(size: number): Promise<Buffer> {
    while (this.buffer.length < size) {
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    const bytes = this.buffer.subarray(0, size);
    this.buffer = this.buffer.subarray(size);
    return bytes;
  }

  /** Sends a command and returns every response line up to and including its tagged one. */
  async command(tag: string, text: string): Promise<string[]> {
    this.write(`${tag} ${text}\r\n`);
    return this.readUntilTagged(tag);
  }

  async readUntilTagged(tag: string): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      lines.push(line);
      if (line.startsWith(`${tag} `)) return lines;
    }
  }

  async waitClosed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }
}

