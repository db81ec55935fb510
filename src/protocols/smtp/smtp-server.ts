import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { parseAddress, formatAddress } from '../../core/address';
import { ROOT, type MailReference } from '../../core/mail';
import { MAIL_BUCKET, BlobTooLargeError, type BlobStore } from '../../blob/api';
import type { DomainList } from '../../domains/api/domain-list';
import type { MailQueue } from '../../queue/mail-queue';
import { MAX_CLIENTS, MAX_RECIPIENTS, SOCKET_TIMEOUT_MS } from './limits';

export interface SmtpDeps {
  blobs: BlobStore;
  domains: DomainList;
  queue: MailQueue;
  /** True when the address is an existing local user. */
  userExists(address: string): Promise<boolean>;
  logger: Logger;
}

export interface SmtpOptions {
  host: string;
  port: number;
  hostname: string;
  maxMessageSize: number;
}

/** An error smtp-server turns into the given SMTP reply. */
function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * SMTP (MX) front end: validates the envelope, streams the message into the blob store, and
 * answers 250 only once the mail's workflow start is acknowledged.
 */
export class SmtpServer {
  private readonly server: SMTPServer;

  constructor(
    private readonly deps: SmtpDeps,
    private readonly options: SmtpOptions,
  ) {
    this.server = new SMTPServer({
      name: options.hostname,
      banner: 'Postflow ESMTP',
      size: options.maxMessageSize,
      // AUTH and STARTTLS arrive with the authentication issue; relay needs AUTH, so none is offered yet.
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      maxClients: MAX_CLIENTS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      logger: false,
      onMailFrom: (address, session, callback) => {
        this.checkSender(address.address).then(() => callback(), (err: Error) => callback(err));
      },
      onRcptTo: (address, session, callback) => {
        this.checkRecipient(address.address, session).then(() => callback(), (err: Error) => callback(err));
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(
          (mailId) => callback(null, `2.0.0 Message accepted, queued as ${mailId}`),
          (err: Error) => callback(err),
        );
      },
    });
    this.server.on('error', (err) => deps.logger.warn({ err }, 'smtp connection error'));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return ((this.server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async checkSender(address: string): Promise<void> {
    if (address === '') return; // null reverse-path (bounces)
    try {
      parseAddress(address);
    } catch {
      throw smtpError(553, `5.1.7 Invalid sender address <${address}>`);
    }
  }

  private async checkRecipient(address: string, session: SMTPServerSession): Promise<void> {
    if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) throw smtpError(452, `4.5.3 Too many recipients (at most ${MAX_RECIPIENTS} per message)`);
    let domain: string;
    try {
      domain = parseAddress(address).domain;
    } catch {
      throw smtpError(553, `5.1.3 Invalid recipient address <${address}>`);
    }
    // Unknown users of local domains are refused now (James' ValidRcptHandler); other domains are
    // accepted and judged by the processor graph (relay-denied unless the sender may relay).
    if ((await this.deps.domains.containsDomain(domain)) && !(await this.deps.userExists(address))) {
      throw smtpError(550, `5.1.1 <${address}>: Recipient address rejected: User unknown`);
    }
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const log = this.deps.logger.child({ smtpSession: session.id });
    const limiter = new SizeLimiter(this.options.maxMessageSize);
    stream.pipe(limiter);
    let stored;
    try {
      stored = await this.deps.blobs.put(MAIL_BUCKET, limiter);
    } catch (err) {
      await drain(stream, limiter);
      if (err instanceof BlobTooLargeError) throw smtpError(552, `5.3.4 Message size exceeds the limit of ${this.options.maxMessageSize} bytes`);
      log.error({ err }, 'cannot store message');
      throw smtpError(451, '4.3.0 Cannot store the message now, try again later');
    }
    const mailId = randomUUID();
    const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const mail: MailReference = {
      mailId,
      name: mailId,
      sender: from === '' ? null : normalize(from),
      recipients: session.envelope.rcptTo.map((r) => normalize(r.address)),
      messageBlobId: stored.blobId,
      size: stored.size,
      state: ROOT,
      remoteAddr: session.remoteAddress,
      remoteHost: session.clientHostname,
      authUser: typeof session.user === 'string' ? session.user : null,
      receivedAt: new Date().toISOString(),
      attributes: {},
      errorMessage: null,
    };
    try {
      await this.deps.queue.enqueue(mail);
    } catch (err) {
      log.error({ err, mailId }, 'cannot enqueue mail');
      throw smtpError(451, '4.3.0 Cannot queue the message now, try again later');
    }
    log.info({ mailId, size: stored.size, recipients: mail.recipients.length }, 'mail accepted');
    return mailId;
  }
}

function normalize(address: string): string {
  return formatAddress(parseAddress(address));
}

/** Passes bytes through until the limit, then fails with BlobTooLargeError. */
class SizeLimiter extends Transform {
  private seen = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) callback(new BlobTooLargeError(this.maxBytes));
    else callback(null, chunk);
  }
}

/** Consumes the rest of the DATA stream so the SMTP dialogue can answer and continue. */
async function drain(stream: Readable, limiter: Transform): Promise<void> {
  stream.unpipe(limiter);
  limiter.destroy();
  if (stream.readableEnded) return;
  stream.resume();
  await finished(stream).catch(() => undefined);
}
