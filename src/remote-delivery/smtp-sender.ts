import { promises as dns } from 'node:dns';
import type { Logger } from 'pino';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { MAIL_BUCKET, type BlobStore } from '../blob/api';
import type { MailReference } from '../core/mail';
import type { RecipientFailure, SendAttemptResult } from '../core/outgoing';
import { enhancedStatus } from '../mailet/message/dsn';

/** RFC 5321 §4.5.3.2: initial 220 within 5 minutes, each command reply within 5, DATA end within 10. */
export const DEFAULT_GREETING_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_SOCKET_TIMEOUT_MS = 10 * 60_000;
/** TCP connect to one MX host: past this the next host is tried. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
export const SMTP_PORT = 25;

export interface MxHost {
  host: string;
  port: number;
}

/** Resolves the hosts to try for a domain, in order. Throws DnsProblem when DNS has no answer. */
export type MxResolver = (domain: string) => Promise<MxHost[]>;

/** The domain (or its mail exchanger) does not resolve: retried only `maxDnsProblemRetries` times. */
export class DnsProblem extends Error {}
/** The domain refuses mail (RFC 7505 null MX): permanent. */
export class NullMx extends Error {}

export interface SmtpSenderOptions {
  /** Name announced in EHLO. */
  heloName: string;
  port?: number;
  connectTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  resolver?: MxResolver;
}

/** MX lookup (RFC 5321 §5.1): MX records by preference; none → the domain itself (implicit MX). */
export function systemMxResolver(port: number): MxResolver {
  return async (domain) => {
    let records: Array<{ exchange: string; priority: number }>;
    try {
      records = await dns.resolveMx(domain);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENODATA') return [{ host: domain, port }];
      throw new DnsProblem(`No MX for ${domain}: ${code ?? (err as Error).message}`);
    }
    if (records.length === 0) return [{ host: domain, port }];
    if (records.length === 1 && (records[0].exchange === '' || records[0].exchange === '.')) throw new NullMx(`${domain} does not accept mail (null MX)`);
    return records.sort((a, b) => a.priority - b.priority).map((r) => ({ host: r.exchange, port }));
  };
}

/** `host[:port]` → MxHost; IPv6 literals in brackets (`[::1]:2525`). */
export function parseHostPort(value: string, defaultPort: number): MxHost {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value.trim()) ?? /^([^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!m) throw new Error(`invalid host ${JSON.stringify(value)} (host or host:port)`);
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

/**
 * Delivers one mail to one domain over SMTP: one connection, hosts tried in MX order,
 * opportunistic STARTTLS, one result per recipient (2xx delivered, 4xx temporary, 5xx permanent).
 */
export class SmtpSender {
  private readonly resolver: MxResolver;
  private readonly port: number;

  constructor(
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
    private readonly options: SmtpSenderOptions,
  ) {
    this.port = options.port ?? SMTP_PORT;
    this.resolver = options.resolver ?? systemMxResolver(this.port);
  }

  /**
   * `sendPartial` (James `sendpartial`): true sends DATA to the recipients accepted at RCPT while the
   * refused ones fail on their own; false aborts the transaction (RSET, no DATA) as soon as one
   * recipient is refused, and every recipient fails with the refusal's class (see abortedTransaction).
   */
  async send(mail: MailReference, domain: string, gateway: string[], sendPartial = true): Promise<SendAttemptResult> {
    const recipients = mail.recipients;
    const fail = (status: string, diagnostic: string, remoteMta: string | null = null): RecipientFailure[] =>
      recipients.map((recipient) => ({ recipient, status, diagnostic, remoteMta }));
    let hosts: MxHost[];
    try {
      hosts = gateway.length > 0 ? gateway.map((g) => parseHostPort(g, this.port)) : await this.resolver(domain);
    } catch (err) {
      if (err instanceof NullMx) return { delivered: [], temporary: [], permanent: fail('5.1.10', err.message), dnsProblem: false, remoteMta: null };
      return { delivered: [], temporary: fail('4.4.3', (err as Error).message), permanent: [], dnsProblem: true, remoteMta: null };
    }
    let lastError = 'no host to try';
    let dnsOnly = true;
    for (const host of hosts) {
      const label = `${host.host}:${host.port}`;
      try {
        return await this.sendTo(host, mail, sendPartial);
      } catch (err) {
        const e = err as SMTPConnection.SMTPError;
        lastError = `${label}: ${e.response ?? e.message}`;
        if (e.code !== 'EDNS' && !/ENOTFOUND|EAI_AGAIN/.test(String(e.code ?? e.message))) dnsOnly = false;
        if (e.responseCode && e.responseCode >= 500 && e.command !== 'CONN') {
          // A 5xx to MAIL FROM or DATA is this domain's final answer: do not try the next MX.
          return { delivered: [], temporary: [], permanent: fail(enhancedStatus(e.responseCode, e.response), e.response ?? e.message, host.host), dnsProblem: false, remoteMta: host.host };
        }
        this.logger.info({ domain, host: label, err: e.message }, 'remote delivery attempt failed on this host');
      }
    }
    return { delivered: [], temporary: fail('4.4.1', lastError), permanent: [], dnsProblem: dnsOnly, remoteMta: null };
  }

  private async sendTo(host: MxHost, mail: MailReference, sendPartial: boolean): Promise<SendAttemptResult> {
    const message = await this.blobs.read(MAIL_BUCKET, mail.messageBlobId);
    const connection = new SMTPConnection({
      host: host.host,
      port: host.port,
      name: this.options.heloName,
      secure: false,
      // Opportunistic STARTTLS (RFC 3207): upgrade when offered, without requiring a valid
      // certificate — MX certificates are not verifiable without DANE/MTA-STS, as with Postfix' "may".
      opportunisticTLS: true,
      tls: { rejectUnauthorized: false },
      connectionTimeout: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      greetingTimeout: this.options.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS,
      socketTimeout: this.options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
      logger: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        connection.once('error', reject);
        connection.connect(() => {
          connection.off('error', reject);
          resolve();
        });
      }).catch((err: SMTPConnection.SMTPError) => {
        throw Object.assign(err, { command: err.command ?? 'CONN' });
      });
      connection.on('error', () => undefined);
      const aborted = sendPartial ? null : abortBeforeDataOnRefusal(connection);
      const sending = new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
        connection.send({ from: mail.sender ?? '', to: mail.recipients, size: mail.size }, message, (err, result) => (err ? reject(err) : resolve(result)));
      });
      if (aborted) {
        // An aborted transaction never calls send's callback back; the race below decides.
        sending.catch(() => undefined);
        const first = await Promise.race([sending.then(() => null, () => null), aborted]);
        if (first) return abortedTransaction(mail.recipients, first.accepted, first.refused, host.host);
      }
      const info = await sending.catch((err: SMTPConnection.SMTPError & { rejectedErrors?: Array<SMTPConnection.SMTPError & { recipient?: string }> }) => {
        if (err.rejectedErrors && err.rejectedErrors.length > 0) {
          // Every recipient was refused at RCPT: sort them out one by one.
          return { accepted: [], rejected: err.rejectedErrors.map((e) => e.recipient ?? ''), rejectedErrors: err.rejectedErrors, response: err.response ?? '' } as unknown as SMTPConnection.SentMessageInfo;
        }
        throw err;
      });
      const result: SendAttemptResult = { delivered: [...info.accepted], temporary: [], permanent: [], dnsProblem: false, remoteMta: host.host };
      for (const rejected of (info.rejectedErrors ?? []) as Array<SMTPConnection.SMTPError & { recipient?: string }>) {
        const failure = { recipient: rejected.recipient ?? '', status: enhancedStatus(rejected.responseCode, rejected.response), diagnostic: rejected.response ?? rejected.message, remoteMta: host.host };
        if ((rejected.responseCode ?? 0) >= 500) result.permanent.push(failure);
        else result.temporary.push(failure);
      }
      return result;
    } finally {
      message.destroy();
      connection.quit();
      connection.close();
    }
  }
}

/** A recipient the server refused at RCPT TO. */
export interface Refusal {
  recipient: string;
  responseCode: number | undefined;
  response: string;
}

interface NodemailerInternals {
  _sendCommand(command: string): void;
  _responseActions: Array<(response: string) => void>;
  _envelope: false | { accepted?: string[]; rejectedErrors?: Array<SMTPConnection.SMTPError & { recipient?: string }> };
}

/**
 * Makes the connection send RSET instead of DATA when a recipient was refused (James
 * `sendpartial=false`). nodemailer (pinned: 7.0.13) always sends DATA once one recipient is
 * accepted and offers no public hook between RCPT and DATA, so this wraps its command writer;
 * a nodemailer without these internals fails loudly rather than sending partially.
 */
function abortBeforeDataOnRefusal(connection: SMTPConnection): Promise<{ accepted: string[]; refused: Refusal[] }> {
  const internals = connection as unknown as NodemailerInternals;
  if (typeof internals._sendCommand !== 'function' || !Array.isArray(internals._responseActions)) {
    throw new Error('sendpartial=false needs nodemailer internals (_sendCommand, _responseActions) this version lacks');
  }
  const write = internals._sendCommand.bind(connection);
  return new Promise((resolve) => {
    internals._sendCommand = (command: string) => {
      const envelope = internals._envelope;
      const refusals = envelope ? (envelope.rejectedErrors ?? []) : [];
      if (command !== 'DATA' || !envelope || refusals.length === 0) return write(command);
      // Replace the DATA reply handler nodemailer queued just before writing DATA.
      internals._responseActions.pop();
      internals._responseActions.push(() =>
        resolve({
          accepted: [...(envelope.accepted ?? [])],
          refused: refusals.map((e) => ({ recipient: e.recipient ?? '', responseCode: e.responseCode, response: e.response ?? e.message })),
        }),
      );
      write('RSET');
    };
  });
}

/**
 * The outcome of a transaction aborted because of refused recipients (James `sendpartial=false`):
 * nobody got the mail. Each refused recipient fails with its own reply; the accepted ones fail
 * with the class of the first refusal (4xx: retried with the others, 5xx: bounced), as James'
 * MailDelivrer fails the valid-unsent addresses with the SendFailedException's class.
 */
export function abortedTransaction(recipients: string[], accepted: string[], refused: Refusal[], remoteMta: string): SendAttemptResult {
  const result: SendAttemptResult = { delivered: [], temporary: [], permanent: [], dnsProblem: false, remoteMta };
  const first = refused[0];
  const firstPermanent = (first?.responseCode ?? 400) >= 500;
  const byRecipient = new Map(refused.map((r) => [r.recipient, r]));
  const acceptedSet = new Set(accepted);
  for (const recipient of recipients) {
    const refusal = byRecipient.get(recipient);
    if (refusal) {
      // A refusal without a reply code (cannot come from a RCPT reply, but stay safe) is temporary.
      const code = refusal.responseCode ?? 400;
      const failure = { recipient, status: enhancedStatus(code, refusal.response), diagnostic: refusal.response, remoteMta };
      if (code >= 500) result.permanent.push(failure);
      else result.temporary.push(failure);
      continue;
    }
    const why = first ? `${first.recipient} was refused (${first.response})` : 'a recipient was refused';
    const failure = {
      recipient,
      status: firstPermanent ? '5.5.0' : '4.5.0',
      diagnostic: `Not sent${acceptedSet.has(recipient) ? '' : ' (not confirmed)'}: ${why} and sendpartial is false`,
      remoteMta,
    };
    if (firstPermanent) result.permanent.push(failure);
    else result.temporary.push(failure);
  }
  return result;
}
