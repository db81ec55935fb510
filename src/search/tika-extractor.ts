import type { BlobStore } from '../blob/api/blob-store';
import type { MessageRecord } from '../mailbox/api/mailbox-store';
import { readMessageBytes } from '../mailbox/message-content';
import { createDecoder } from '../mime/decoders';
import type { MessageSummary, MimePart } from '../mime/parsed-message';
import type { AttachmentTextExtractor } from './search-indexer';

/** Messages larger than this are not sent to Tika (their attachments are indexed by name only). */
export const MAX_TIKA_MESSAGE_BYTES = 20 * 1024 * 1024;
/** Attachments sent to Tika per message. */
export const MAX_TIKA_ATTACHMENTS = 10;
/** Text kept per attachment. */
export const MAX_ATTACHMENT_TEXT = 256 * 1024;
/** Bound of one Tika request. */
export const TIKA_TIMEOUT_MS = 15_000;

/**
 * Attachment text through an Apache Tika server (`PUT /tika`, `Accept: text/plain`), as James'
 * TikaTextExtractor. Only configured when `tika.url` is set; no fake extractor exists.
 */
export class TikaExtractor implements AttachmentTextExtractor {
  constructor(
    private readonly url: string,
    private readonly blobs: BlobStore,
  ) {}

  async extract(_owner: string, record: MessageRecord, summary: MessageSummary): Promise<string> {
    if (record.size > MAX_TIKA_MESSAGE_BYTES) return '';
    const parts = attachmentParts(summary.structure, new Set(summary.attachments.map((a) => a.partId))).slice(0, MAX_TIKA_ATTACHMENTS);
    if (parts.length === 0) return '';
    // Prefix + shared blob: the summary's part offsets count the copy's header prefix.
    const raw = await readMessageBytes(this.blobs, record);
    const texts: string[] = [];
    for (const part of parts) {
      const body = decode(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
      const response = await fetch(new URL('/tika', this.url), {
        method: 'PUT',
        headers: { Accept: 'text/plain', 'Content-Type': `${part.contentType.type}/${part.contentType.subtype}` },
        body,
        signal: AbortSignal.timeout(TIKA_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`Tika answered ${response.status} for part ${part.partId}`);
      texts.push((await response.text()).slice(0, MAX_ATTACHMENT_TEXT));
    }
    return texts.join('\n');
  }
}

function attachmentParts(part: MimePart, ids: Set<string>): MimePart[] {
  const out: MimePart[] = [];
  if (ids.has(part.partId) && !part.children) out.push(part);
  for (const child of part.children ?? []) out.push(...attachmentParts(child, ids));
  return out;
}

function decode(bytes: Buffer, encoding: string): Buffer {
  const decoder = createDecoder(encoding);
  const chunks: Buffer[] = [];
  const lines = bytes.toString('latin1').split(/(\r?\n)/);
  for (let i = 0; i < lines.length; i += 2) chunks.push(decoder.line(Buffer.from(lines[i], 'latin1'), Buffer.from(lines[i + 1] ?? '', 'latin1')));
  chunks.push(decoder.end());
  return Buffer.concat(chunks);
}
