import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { parseAddress, formatAddress } from '../../core/address';
import { ROOT, type MailReference } from '../../core/mail';
import { PermanentError } from '../../core/errors';
import { MAIL_BUCKET, BlobTooLargeError, type BlobStore } from '../../blob/api';
import type { AuthService } from '../../auth/auth-service';
import type { SenderAuthorization } from '../../rrt/can-send-from';
import type { MailQueue } from '../../queue/mail-queue';
import { MIN_TLS_VERSION, type TlsMaterial } from '../../tls/tls-config';
import { MAX_AUTH_FAILURES_PER_CONNECTION, MAX_CLIENTS, MAX_RECIPIENTS, SOCKET_TIMEOUT_MS } from './limits';
import { decideRecipient, type RecipientPolicyDeps } from './recipient-policy';

export interface SmtpDeps extends RecipientPolicyDeps {
  blobs: BlobStore;
  queue: MailQueue;
  auth: AuthService;
  senders: SenderAuthorization;
  logger: Logger;
}

export interface SmtpOptions {
  host: string;
  port: number;
  hostname: string;
  maxMessageSize: number;
  /**
   * `mx`: mail from other servers, AUTH optional. `submission`: mail from users' clients
   * (RFC 6409), AUTH required and MAIL FROM must be an address the user may send from.
   */
  mode: 'mx' | 'submission';
  /** TLS material: offers STARTTLS (or, with `implicitTls`, TLS from the first byte); null: plain only. */
  tls: TlsMaterial | null;
  /** RFC 8314 implicit TLS (the `submissions` port, 465-like). */
  implicitTls?: boolean;
}

/** An error smtp-server turns into the given SMTP reply. */
function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * SMTP front end (MX or submission): authenticates, validates the envelope, streams the message
 * into the blob store, and answers 250 only once the mail's workflow start is acknowledged.
 */
export class SmtpServer {
  private readonly server: SMTPServer;
  private readonly authFailures = new Map<string, number>();
  /**
   * Per SMTP transaction (smtp-server gives each MAIL FROM a new envelope object): the local-domain
   * answers, so the recipients of one domain in one mail cost one domain look-up, not one each.
   * Nothing outlives the transaction: the next MAIL FROM asks the domain list again.
   */
  private readonly localDomains = new WeakMap<object, Map<string, Promise<boolean>>>();

  constructor(
    private readonly deps: SmtpDeps,
    private readonly options: SmtpOptions,
  ) {
    if (options.implicitTls && !options.tls) throw new Error('An implicit-TLS SMTP listener needs tls.certFile and tls.keyFile');
    const tlsOptions: Partial<SMTPServerOptions> = options.tls
      ? { key: options.tls.key, cert: options.tls.cert, minVersion: MIN_TLS_VERSION, secure: options.implicitTls === true }
      : { hideSTARTTLS: true };
    this.server = new SMTPServer({
      ...tlsOptions,
      name: options.hostname,
      banner: options.mode === 'submission' ? 'Postflow ESMTP submission' : 'Postflow ESMTP',
      size: options.maxMessageSize,
      disabledCommands: options.tls ? [] : ['STARTTLS'],
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: options.mode === 'mx',
      // Plain-text AUTH without TLS is decided per connection in onAuth (loopback policy).
      allowInsecureAuth: true,
      maxClients: MAX_CLIENTS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      logger: false,
      onAuth: (auth, session, callback) => {
        this.authenticate(auth, session).then((user) => callback(null, { user }), (err: Error) => callback(this.transient(err, session, '454 4.7.0')));
      },
      onMailFrom: (address, session, callback) => {
        this.checkSender(address.address, session).then(() => callback(), (err: Error) => callback(this.transient(err, session, '451 4.4.3')));
      },
      onRcptTo: (address, session, callback) => {
        this.checkRecipient(address.address, session).then(() => callback(), (err: Error) => callback(this.transient(err, session, '451 4.4.3')));
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(
          (mailId) => callback(null, `2.0.0 Message accepted, queued as ${mailId}`),
          (err: Error) => callback(err),
        );
      },
      onClose: (session) => {
        this.authFailures.delete(session.id);
      },
    } as SMTPServerOptions);
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

  /**
   * An error without an SMTP code (a store or directory that does not answer) becomes a temporary
   * reply, so the client retries instead of bouncing; the cause is logged, never sent.
   */
  private transient(err: Error, session: SMTPServerSession, reply: '451 4.4.3' | '454 4.7.0'): Error {
    if ((err as { responseCode?: number }).responseCode) return err;
    this.deps.logger.error({ err, smtpSession: session.id }, 'SMTP command failed');
    const [code, enhanced] = reply.split(' ');
    return smtpError(Number(code), `${enhanced} Temporary failure, try again later`);
  }

  private async authenticate(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<string> {
    const log = this.deps.logger.child({ smtpSession: session.id });
    if (!this.deps.auth.plainTextAllowed(session.remoteAddress, session.secure)) {
      throw smtpError(538, '5.7.11 Encryption required for requested authentication mechanism: issue STARTTLS first');
    }
    const plain = auth as SMTPServerAuthentication & { authcid?: string; authzid?: string };
    // RFC 4616: authzid NUL authcid NUL password. A client that fills only the authzid means itself.
    const username = auth.method === 'PLAIN' && plain.authcid ? plain.authcid : (auth.username ?? '');
    const authorizationId = auth.method === 'PLAIN' && plain.authcid && plain.authzid ? plain.authzid : undefined;
    const result = await this.deps.auth.authenticate({
      username,
      password: auth.password ?? '',
      authorizationId,
      remoteAddress: session.remoteAddress,
      protocol: 'smtp',
    });
    if (result.ok) {
      log.info({ user: result.user, authenticatedAs: result.authenticatedAs }, 'SMTP AUTH succeeded');
      return result.user;
    }
    const failures = (this.authFailures.get(session.id) ?? 0) + 1;
    this.authFailures.set(session.id, failures);
    if (result.reason === 'unavailable') throw smtpError(454, '4.7.0 Temporary authentication failure, try again later');
    if (failures >= MAX_AUTH_FAILURES_PER_CONNECTION) {
      throw smtpError(421, `4.7.0 Too many failed authentication attempts, closing connection`);
    }
    // One answer for a wrong password, an unknown user, a throttled or disabled account and a refused
    // delegation: the reply tells an attacker nothing about which accounts exist.
    throw smtpError(535, '5.7.8 Authentication credentials invalid');
  }

  private async checkSender(address: string, session: SMTPServerSession): Promise<void> {
    if (address === '') return; // null reverse-path (bounces)
    try {
      parseAddress(address);
    } catch {
      throw smtpError(553, `5.1.7 Invalid sender address <${address}>`);
    }
    const user = typeof session.user === 'string' ? session.user : null;
    if (this.options.mode === 'submission' && user && !(await this.deps.senders.canSendFrom(user, address))) {
      throw smtpError(553, `5.7.1 <${address}>: Sender address not owned by authenticated user ${user}`);
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
    const decision = await decideRecipient(this.transactionPolicy(session), normalize(address), domain);
    if (!decision.accept) throw smtpError(decision.code, decision.message);
  }

  /** The recipient policy with the local-domain answers memoised for this session's current transaction. */
  private transactionPolicy(session: SMTPServerSession): RecipientPolicyDeps {
    const envelope = session.envelope as object;
    let known = this.localDomains.get(envelope);
    if (!known) {
      known = new Map();
      this.localDomains.set(envelope, known);
    }
    const domains = known;
    return {
      rrt: this.deps.rrt,
      userExists: (address) => this.deps.userExists(address),
      isLocalDomain: (domain) => {
        const key = domain.toLowerCase();
        let answer = domains.get(key);
        if (!answer) {
          answer = this.deps.isLocalDomain(domain);
          domains.set(key, answer);
          // A failed look-up is not remembered: the next recipient asks again.
          answer.catch(() => domains.delete(key));
        }
        return answer;
      },
    };
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
      if (err instanceof PermanentError) throw smtpError(554, '5.3.0 The message cannot be queued');
      throw smtpError(451, '4.3.0 Cannot queue the message now, try again later');
    }
    log.info({ mailId, size: stored.size, recipients: mail.recipients.length, authUser: mail.authUser }, 'mail accepted');
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
