import type { MessageRecord } from '../mailbox/api/mailbox-store';
import { decodeWords, parseHeaderBlock } from '../mime/headers';
import type { EnvelopeAddress, MessageSummary } from '../mime/parsed-message';
import type { IndexedMessage } from './api/search-index';

/** Header fields kept per message in the index (a message with more keeps the first ones). */
export const MAX_INDEXED_HEADERS = 500;
/** Longest header value indexed. */
export const MAX_INDEXED_HEADER_VALUE = 8 * 1024;

/** The stored parsed data of a message, as the mailbox store keeps it. */
export interface MessageContent {
  headers: Buffer;
  summary: MessageSummary;
  text: string;
}

/** Builds the index document of a message from its record and stored parsed data (no blob read). */
export function buildDocument(owner: string, record: MessageRecord, content: MessageContent, attachmentText = ''): IndexedMessage {
  const { envelope } = content.summary;
  const headers: Array<[string, string]> = [];
  for (const [name, values] of parseHeaderBlock(content.headers)) {
    for (const value of values) {
      if (headers.length >= MAX_INDEXED_HEADERS) break;
      headers.push([name, decodeWords(value.trim()).slice(0, MAX_INDEXED_HEADER_VALUE)]);
    }
  }
  const sent = envelope.date ? Date.parse(envelope.date) : NaN;
  return {
    mailboxId: record.mailboxId,
    uid: record.uid,
    owner,
    messageId: record.messageId,
    threadId: record.threadId,
    modSeq: record.modSeq,
    size: record.size,
    internalDate: record.internalDate.getTime(),
    sentDate: Number.isNaN(sent) ? null : sent,
    flags: record.flags,
    hasAttachment: content.summary.hasAttachment,
    subject: envelope.decodedSubject ?? (envelope.subject ? decodeWords(envelope.subject) : ''),
    from: addressText(envelope.from),
    to: addressText(envelope.to),
    cc: addressText(envelope.cc),
    bcc: addressText(envelope.bcc),
    headers,
    body: content.text,
    attachmentNames: content.summary.attachments.map((a) => a.name).filter((n): n is string => !!n),
    attachmentText,
    sortSubject: content.summary.threading.baseSubject.toLowerCase(),
    sortFrom: localPart(envelope.from),
    sortTo: localPart(envelope.to),
    sortCc: localPart(envelope.cc),
    sortDisplayFrom: display(envelope.from),
    sortDisplayTo: display(envelope.to),
  };
}

function flatten(list: readonly EnvelopeAddress[]): Array<{ name: string; address: string }> {
  return list.flatMap((entry) => ('group' in entry ? entry.members : [entry]));
}

function addressText(list: readonly EnvelopeAddress[]): string {
  return flatten(list)
    .map((a) => (a.name ? `${decodeWords(a.name)} <${a.address}>` : `<${a.address}>`))
    .join('\n');
}

/** RFC 5256 §3: the local part of the first address, lower-cased. */
function localPart(list: readonly EnvelopeAddress[]): string {
  const address = flatten(list)[0]?.address ?? '';
  const at = address.lastIndexOf('@');
  return (at === -1 ? address : address.slice(0, at)).toLowerCase();
}

/** RFC 5957: the display name, or the address when there is none. */
function display(list: readonly EnvelopeAddress[]): string {
  const first = flatten(list)[0];
  return (first?.name ? decodeWords(first.name) : first?.address || '').toLowerCase();
}
