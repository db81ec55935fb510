import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GHOST, mailKey, type MailReference } from '../../core/mail';
import { defineMailet, type AnyMailet, type MailetContext } from '../api';
import { HeaderSection, formatField, joinMessage, splitMessage } from '../message/header-section';
import { buildReport, enhancedStatus, originalSubject, rfc5322Date, type RecipientStatus } from '../message/dsn';
import { addressListParam, boolParam } from './params';

/** Per-recipient results RemoteDelivery attaches to the mail it sends to its bounce processor. */
export const DELIVERY_FAILURES_ATTRIBUTE = 'org.apache.james.remote-delivery.failures';

export interface DeliveryFailure {
  recipient: string;
  status: string;
  diagnostic: string | null;
  remoteMta: string | null;
}

const attachment = z.enum(['none', 'heads', 'message', 'all']);

function statusesOf(mail: MailReference, defaultStatus: string): RecipientStatus[] {
  const failures = (mail.attributes[DELIVERY_FAILURES_ATTRIBUTE] ?? []) as unknown as DeliveryFailure[];
  return mail.recipients.map((recipient) => {
    const failure = Array.isArray(failures) ? failures.find((f) => f.recipient === recipient) : undefined;
    return {
      recipient,
      action: 'failed',
      status: failure?.status ?? enhancedStatus(null, mail.errorMessage ?? defaultStatus) ?? defaultStatus,
      diagnostic: failure?.diagnostic ?? mail.errorMessage,
      remoteMta: failure?.remoteMta ?? null,
    };
  });
}

async function sendReport(
  mail: MailReference,
  context: MailetContext,
  options: { kind: 'report' | 'mixed'; attach: z.infer<typeof attachment>; text: string; subjectPrefix: string; defaultStatus: string },
): Promise<void> {
  if (mail.sender === null) {
    // RFC 3464 §2: never report on a report (null reverse-path): that is how bounce loops start.
    context.logger.info({ mailId: mail.mailId }, 'no bounce for a mail with a null sender');
    return;
  }
  const original = await context.message(mail);
  const subject = originalSubject(original);
  const message = buildReport({
    kind: options.kind,
    reportingMta: context.hostname,
    from: context.postmaster,
    to: mail.sender,
    subject: `${options.subjectPrefix}${subject ? ` ${subject}` : ''}`,
    text: options.text,
    recipients: statusesOf(mail, options.defaultStatus),
    original,
    attach: options.attach === 'all' ? 'message' : options.attach === 'heads' ? 'headers' : options.attach,
    arrivalDate: new Date(mail.receivedAt),
    envelopeId: mail.mailId,
    seed: `${mailKey(mail)}:${options.kind}`,
    date: new Date(mail.receivedAt),
  });
  await context.sendMail({ sender: null, recipients: [mail.sender], message, key: options.kind });
}

function explanation(context: MailetContext, mail: MailReference, notice: string | undefined): string {
  const lines = [
    `Hi. This is the mail server at ${context.hostname}.`,
    '',
    notice ?? "I'm afraid I wasn't able to deliver your message to the following addresses.",
    "This is a permanent error; I've given up. Sorry it didn't work out.",
    '',
    ...mail.recipients.map((r) => `<${r}>`),
  ];
  if (mail.errorMessage) lines.push('', `Error: ${mail.errorMessage}`);
  return lines.join('\n');
}

/** Sends a delivery status notification (RFC 3464) to the sender (James `DSNBounce`). */
const dsnBounce = defineMailet<{ passThrough: boolean; attachment: z.infer<typeof attachment>; defaultStatus: string; messageString?: string }>({
  name: 'DSNBounce',
  params: z
    .object({
      passThrough: boolParam.default(true),
      attachment: attachment.default('heads'),
      defaultStatus: z.string().regex(/^[245]\.\d{1,3}\.\d{1,3}$/, 'must be an enhanced status code such as 5.0.0').default('5.0.0'),
      messageString: z.string().optional(),
      action: z.unknown().optional(),
      prefix: z.unknown().optional(),
      debug: z.unknown().optional(),
    })
    .strict()
    .transform(({ passThrough, attachment: a, defaultStatus, messageString }) => ({ passThrough, attachment: a, defaultStatus, messageString })),
  async service(mail, context, params) {
    await sendReport(mail, context, {
      kind: 'report',
      attach: params.attachment,
      text: explanation(context, mail, params.messageString),
      subjectPrefix: '[FAILURE]',
      defaultStatus: params.defaultStatus,
    });
    return params.passThrough ? mail : { ...mail, state: GHOST };
  },
});

/** Sends a bounce notice with the original attached to the sender (James `Bounce`). */
const bounce = defineMailet<{ passThrough: boolean; attachment: z.infer<typeof attachment>; notice?: string; prefix: string }>({
  name: 'Bounce',
  params: z
    .object({
      passThrough: boolParam.default(true),
      attachment: attachment.default('message'),
      notice: z.string().optional(),
      message: z.string().optional(),
      prefix: z.string().default('Re:'),
      sendingAddress: z.unknown().optional(),
      inline: z.unknown().optional(),
      debug: z.unknown().optional(),
    })
    .strict()
    .transform(({ passThrough, attachment: a, notice, message, prefix }) => ({ passThrough, attachment: a, notice: notice ?? message, prefix })),
  async service(mail, context, params) {
    await sendReport(mail, context, { kind: 'mixed', attach: params.attachment, text: explanation(context, mail, params.notice), subjectPrefix: params.prefix, defaultStatus: '5.0.0' });
    return params.passThrough ? mail : { ...mail, state: GHOST };
  },
});

/** Sends the message on to other addresses (James `Forward`); the original is ghosted unless passThrough. */
const forward = defineMailet<{ forwardTo: string[]; passThrough: boolean }>({
  name: 'Forward',
  params: z.object({ forwardTo: addressListParam.refine((l) => l.length > 0, 'needs at least one address'), passThrough: boolParam.default(false) }).strict(),
  async service(mail, context, params) {
    await context.sendMail({ sender: mail.sender, recipients: params.forwardTo, message: await context.message(mail), key: 'forward' });
    return params.passThrough ? mail : { ...mail, state: GHOST };
  },
});

/** Redirects the message (James `Redirect`): new recipients, optionally a new To, sender and subject prefix. */
const redirect = defineMailet<{ recipients: string[]; to?: string; sender?: string; reversePath?: string; subjectPrefix?: string; passThrough: boolean }>({
  name: 'Redirect',
  params: z
    .object({
      recipients: addressListParam.refine((l) => l.length > 0, 'needs at least one address'),
      to: z.string().optional(),
      sender: z.string().optional(),
      reversePath: z.string().optional(),
      subjectPrefix: z.string().optional(),
      passThrough: boolParam.default(false),
      static: z.unknown().optional(),
      isStatic: z.unknown().optional(),
    })
    .strict()
    .transform(({ static: _s, isStatic: _i, ...rest }) => rest),
  async service(mail, context, params) {
    const { header, body } = splitMessage(await context.message(mail));
    const headers = HeaderSection.parse(header);
    if (params.to) headers.set('To', params.to === 'unaltered' ? headers.get('to') ?? '' : params.to);
    if (params.subjectPrefix) headers.set('Subject', `${params.subjectPrefix} ${headers.decoded('subject') ?? ''}`.trim());
    if (params.sender) headers.set('From', params.sender === 'postmaster' ? context.postmaster : params.sender);
    const reversePath = params.reversePath ?? 'unaltered';
    const sender = reversePath === 'null' ? null : reversePath === 'postmaster' ? context.postmaster : reversePath === 'unaltered' || reversePath === 'sender' ? mail.sender : reversePath;
    await context.sendMail({ sender, recipients: params.recipients, message: joinMessage(headers, body), key: 'redirect' });
    return params.passThrough ? mail : { ...mail, state: GHOST };
  },
});

/** RFC 3834 §2: no automatic reply to automatic mail, lists, or bulk mail (James AutomaticallySentMailDetector). */
function isAutomatic(headers: HeaderSection): boolean {
  const autoSubmitted = headers.get('auto-submitted');
  if (autoSubmitted && autoSubmitted.trim().toLowerCase() !== 'no') return true;
  if (['list-id', 'list-unsubscribe', 'list-help', 'list-subscribe', 'list-post', 'list-owner', 'list-archive'].some((h) => headers.has(h))) return true;
  if (/multipart\/report;[^]*report-type\s*=\s*"?disposition-notification/i.test(headers.get('content-type') ?? '')) return true;
  return /^(bulk|list|junk)$/i.test((headers.get('precedence') ?? '').trim());
}

/** Senders that are lists or robots by name (James: owner-*, *-request, MAILER-DAEMON, LISTSERV, majordomo). */
function isRobotSender(sender: string): boolean {
  const local = sender.slice(0, sender.lastIndexOf('@')).toLowerCase();
  return local.startsWith('owner-') || local.endsWith('-request') || ['mailer-daemon', 'listserv', 'majordomo'].includes(local);
}

/**
 * Answers on behalf of recipients who set a vacation notice (James `VacationMailet`, RFC 3834):
 * once per sender during a vacation (the notification registry), never to null senders, lists,
 * robots or automatic mail.
 */
const vacationMailet = defineMailet({
  name: 'VacationMailet',
  params: z.object({}).passthrough(),
  async service(mail, context) {
    const lookup = context.services.vacation;
    if (!lookup || mail.sender === null || isRobotSender(mail.sender)) return mail;
    const headers = await context.headers(mail);
    if (isAutomatic(headers)) return mail;
    const now = new Date();
    const sender = mail.sender.toLowerCase();
    for (const recipient of mail.recipients) {
      const user = recipient.toLowerCase();
      if (user === sender) continue;
      const vacation = await lookup(user);
      if (!vacation?.enabled) continue;
      if (vacation.fromDate && new Date(vacation.fromDate) > now) continue;
      if (vacation.toDate && new Date(vacation.toDate) < now) continue;
      if (await context.services.vacationNotified?.(user, sender)) continue;
      const seed = createHash('sha256').update(`${mailKey(mail)}:${recipient}`).digest('hex');
      const messageId = headers.get('message-id');
      const text = vacation.textBody.replace(/\r?\n/g, '\r\n');
      const boundary = `----=_Postflow_vacation_${seed.slice(0, 24)}`;
      const body = vacation.htmlBody
        ? [
            `Content-Type: multipart/alternative; boundary="${boundary}"`,
            '',
            `--${boundary}`,
            'Content-Type: text/plain; charset=utf-8',
            'Content-Transfer-Encoding: 8bit',
            '',
            text,
            `--${boundary}`,
            'Content-Type: text/html; charset=utf-8',
            'Content-Transfer-Encoding: 8bit',
            '',
            vacation.htmlBody.replace(/\r?\n/g, '\r\n'),
            `--${boundary}--`,
            '',
          ]
        : ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', text];
      const reply = [
        formatField('From', recipient),
        formatField('To', mail.sender),
        formatField('Subject', vacation.subject ?? `Re: ${headers.decoded('subject') ?? ''}`.trim()),
        `Date: ${rfc5322Date(now)}`,
        `Message-ID: <${seed.slice(0, 32)}.vacation@${context.hostname}>`,
        ...(messageId ? [`In-Reply-To: ${messageId}`, `References: ${messageId}`] : []),
        'Auto-Submitted: auto-replied',
        'MIME-Version: 1.0',
        ...body,
      ].join('\r\n');
      await context.sendMail({ sender: null, recipients: [mail.sender], message: Buffer.from(reply, 'utf8'), key: `vacation:${user}` });
      // After the send (idempotent by key): a retried step that failed before it still answers.
      await context.services.vacationRegisterNotification?.(user, sender);
    }
    return mail;
  },
});

export const BOUNCE_MAILETS: AnyMailet[] = [dsnBounce, bounce, forward, redirect, vacationMailet];
