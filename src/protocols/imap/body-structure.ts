import type { Envelope, EnvelopeAddress, MimePart } from '../../mime/parsed-message';
import { formatString } from './response';

/** nstring: NIL or a string (quoted, or a literal for 8-bit/CRLF text). */
function nstring(value: string | null | undefined): string {
  return value === null || value === undefined ? 'NIL' : formatString(value);
}

function addresses(list: readonly EnvelopeAddress[]): string {
  if (list.length === 0) return 'NIL';
  const out: string[] = [];
  const one = (name: string, address: string): string => {
    const at = address.lastIndexOf('@');
    const mailbox = at === -1 ? address : address.slice(0, at);
    const host = at === -1 ? '' : address.slice(at + 1);
    return `(${nstring(name || null)} NIL ${nstring(mailbox || null)} ${nstring(host || null)})`;
  };
  for (const entry of list) {
    if ('group' in entry) {
      // RFC 3501 §7.4.2: a group is (NIL NIL name NIL) members… (NIL NIL NIL NIL).
      out.push(`(NIL NIL ${nstring(entry.group)} NIL)`, ...entry.members.map((m) => one(m.name, m.address)), '(NIL NIL NIL NIL)');
    } else {
      out.push(one(entry.name, entry.address));
    }
  }
  return `(${out.join('')})`;
}

/** ENVELOPE (RFC 3501 §7.4.2); Sender and Reply-To default to From. */
export function formatEnvelope(envelope: Envelope): string {
  const sender = envelope.sender.length > 0 ? envelope.sender : envelope.from;
  const replyTo = envelope.replyTo.length > 0 ? envelope.replyTo : envelope.from;
  return `(${[
    nstring(envelope.date),
    nstring(envelope.subject),
    addresses(envelope.from),
    addresses(sender),
    addresses(replyTo),
    addresses(envelope.to),
    addresses(envelope.cc),
    addresses(envelope.bcc),
    nstring(envelope.inReplyTo),
    nstring(envelope.messageId),
  ].join(' ')})`;
}

function params(values: Record<string, string>): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? 'NIL' : `(${entries.map(([k, v]) => `${formatString(k)} ${formatString(v)}`).join(' ')})`;
}

function extension(part: MimePart): string {
  const disposition = part.disposition ? `(${formatString(part.disposition.type)} ${params(part.disposition.params)})` : 'NIL';
  const language = part.language && part.language.length > 0 ? `(${part.language.map(formatString).join(' ')})` : 'NIL';
  return `${disposition} ${language} ${nstring(part.location)}`;
}

/** BODYSTRUCTURE (`extended`) or BODY (RFC 3501 §7.4.2) of a MIME tree. */
export function formatBodyStructure(part: MimePart, extended: boolean): string {
  const { type, subtype } = part.contentType;
  if (type === 'multipart') {
    const children = (part.children ?? []).map((child) => formatBodyStructure(child, extended)).join('');
    const ext = extended ? ` ${params(part.contentType.params)} ${extension(part)}` : '';
    // A multipart without children is malformed; RFC 3501 needs at least one body.
    return `(${children || '("text" "plain" NIL NIL NIL "7bit" 0 0)'} ${formatString(subtype)}${ext})`;
  }
  const fields = [formatString(type), formatString(subtype), params(part.contentType.params), nstring(part.id), nstring(part.description), formatString(part.encoding), String(part.size)];
  if (type === 'message' && subtype === 'rfc822' && part.message) {
    fields.push(formatEnvelope(part.message.envelope), formatBodyStructure(part.message.root, extended), String(part.lines));
  } else if (type === 'text') {
    fields.push(String(part.lines));
  }
  if (extended) fields.push(nstring(part.md5), extension(part));
  return `(${fields.join(' ')})`;
}

/** The MIME part of a section number (`1`, `2.1`), or null. A single-part message is its own part 1. */
export function findPart(root: MimePart, partId: string): MimePart | null {
  if (root.partId === partId) return root;
  for (const child of root.children ?? []) {
    const found = findPart(child, partId);
    if (found) return found;
  }
  if (root.message) return findPart(root.message.root, partId);
  return null;
}
