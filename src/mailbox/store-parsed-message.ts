import { Readable } from 'node:stream';
import { BlobTooLargeError, MAIL_BUCKET, type BlobStore, type PutOptions, type StoredBlob } from '../blob/api';
import { MimeParser } from '../mime/mime-parser';
import type { ParsedMessage } from '../mime/parsed-message';

export interface StoredParsedMessage extends StoredBlob {
  parsed: ParsedMessage;
}

/**
 * Stores a message in the mail bucket and parses it in the same pass: every chunk goes to the
 * streaming MIME parser on its way to the blob store (which hashes and writes it), so the bytes are
 * read once and never read back to be parsed. Pass the result as `AppendRequest.parsed`.
 * Nothing is parsed past `maxBytes` (the put fails with BlobTooLargeError first).
 */
export async function storeParsedMessage(blobs: BlobStore, data: Readable | Buffer, options: PutOptions = {}): Promise<StoredParsedMessage> {
  const parser = new MimeParser();
  if (Buffer.isBuffer(data)) {
    if (options.maxBytes !== undefined && data.length > options.maxBytes) throw new BlobTooLargeError(options.maxBytes);
    const stored = await blobs.put(MAIL_BUCKET, data, options);
    parser.write(data);
    return { ...stored, parsed: parser.end() };
  }
  const tee = Readable.from(parseOnTheWay(data, parser), { objectMode: false });
  const stored = await blobs.put(MAIL_BUCKET, tee, options);
  return { ...stored, parsed: parser.end() };
}

async function* parseOnTheWay(source: Readable, parser: MimeParser): AsyncGenerator<Buffer> {
  let done = false;
  try {
    for await (const chunk of source) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      parser.write(bytes);
      yield bytes;
    }
    done = true;
  } finally {
    // The put stopped early (too large, a write failed): the caller's stream is released too.
    if (!done) source.destroy();
  }
}
