import { createHash } from 'node:crypto';
import libmime from 'libmime';
import { formatField, splitMessage } from './header-section';

/** One recipient's line of a delivery status notification (RFC 3464 §2.3). */
export interface RecipientStatus {
  recipient: string;
  /** `failed`, `delayed`, `delivered`, `relayed`, `expanded` (RFC 3464 §2.3.3). */
  action: 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';
  /** RFC 3463 enhanced status code, e.g. `5.1.1`. */
  status: string;
  /** The remote server's reply, e.g. `550 5.1.1 User unknown`. */
  diagnostic?: string | null;
  remoteMta?: string | null;
}

export interface ReportInput {
  /** This server's name (Reporting-MTA). */
  reportingMta: string;
  /** From of the report (the postmaster). */
  from: string;
  /** Where the report goes: the original envelope sender. */
  to: string;
  /** The human-readable explanation. */
  text: string;
  subject: string;
  recipients: RecipientStatus[];
  /** The original message (its headers or all of it are attached). */
  original: Buffer;
  /** `headers` (text/rfc822-headers), `message` (message/rfc822) or `none`. */
  attach: 'headers' | 'message' | 'none';
  arrivalDate: Date;
  /** Envelope id of the original mail (Original-Envelope-Id). */
  envelopeId?: string;
  /** Seed of the boundary and Message-ID, so a retried mailet builds the same bytes. */
  seed: string;
  date: Date;
  /** `report` builds RFC 3464 multipart/report; `mixed` a plain notice with the original attached (James Bounce). */
  kind: 'report' | 'mixed';
}

/** Builds a delivery status notification (RFC 3464, multipart/report; RFC 6522) or a plain bounce notice. */
export function buildReport(input: ReportInput): Buffer {
  const hash = createHash('sha256').update(input.seed).digest('hex');
  const boundary = `----=_Postflow_${hash.slice(0, 24)}`;
  const messageId = `<${hash.slice(0, 32)}.dsn@${input.reportingMta}>`;
  const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';
  const headers = [
    formatField('From', input.from),
    formatField('To', input.to),
    formatField('Subject', input.subject),
    `Date: ${rfc5322Date(input.date)}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    // RFC 3834 §5: reports are auto-generated and must not be auto-replied to.
    'Auto-Submitted: auto-replied',
    input.kind === 'report'
      ? `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`
      : `Content-Type: multipart/mixed;\r\n\tboundary="${boundary}"`,
  ];
  const parts: string[] = [];
  parts.push(crlf(['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', input.text.replace(/\r?\n/g, '\r\n')]));
  if (input.kind === 'report') {
    const perMessage = [`Reporting-MTA: dns; ${input.reportingMta}`];
    if (input.envelopeId) perMessage.push(`Original-Envelope-Id: ${input.envelopeId}`);
    perMessage.push(`Arrival-Date: ${rfc5322Date(input.arrivalDate)}`);
    const perRecipient = input.recipients.map((r) => {
      const lines = [`Final-Recipient: rfc822; ${r.recipient}`, `Action: ${r.action}`, `Status: ${r.status}`];
      if (r.remoteMta) lines.push(`Remote-MTA: dns; ${r.remoteMta}`);
      if (r.diagnostic) lines.push(`Diagnostic-Code: smtp; ${r.diagnostic.replace(/[\r\n]+/g, ' ')}`);
      return lines.join('\r\n');
    });
    parts.push(crlf(['Content-Type: message/delivery-status', '', [perMessage.join('\r\n'), ...perRecipient].join('\r\n\r\n')]));
  }
  const originalHeaders = splitMessage(input.original).header;
  if (input.attach === 'headers') parts.push(`Content-Type: text/rfc822-headers\r\n\r\n${originalHeaders.toString('utf8')}`);
  else if (input.attach === 'message') parts.push(`Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n${input.original.toString('utf8')}`);
  const body = parts.map((p) => `--${boundary}\r\n${p}`).join('\r\n') + `\r\n--${boundary}--\r\n`;
  return Buffer.from(crlf(headers) + '\r\n' + body, 'utf8');
}

/** RFC 3463 status of an SMTP reply: its enhanced code when present, else derived from the basic code. */
export function enhancedStatus(code: number | null | undefined, text: string | null | undefined): string {
  const m = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text ?? '');
  if (m) return `${m[1]}.${m[2]}.${m[3]}`;
  if (code && code >= 500) return '5.0.0';
  if (code && code >= 400) return '4.0.0';
  return '5.0.0';
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC. */
export function rfc5322Date(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Subject of the original message, decoded, for the report's subject line. */
export function originalSubject(original: Buffer): string {
  const m = /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(splitMessage(original).header.toString('utf8'));
  if (!m) return '';
  try {
    return libmime.decodeWords(m[1].replace(/\r?\n(?=[ \t])/g, '')).trim();
  } catch {
    return m[1].trim();
  }
}
