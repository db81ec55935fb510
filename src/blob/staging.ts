import type { Hash, Hmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobTooLargeError, type PutOptions, type StagedBlob, type StoredBlob } from './api';

/** Turns the content into the bytes stored (encryption); identity when absent. */
export interface ContentTransform {
  update(plaintext: Buffer): Buffer[];
  /** The end of the content, once its id is known (an encryption binds the id into its last tag). */
  final(blobId: string): Buffer[];
}

/**
 * The one put loop of every store: reads `data` chunk by chunk (never the whole blob), enforces
 * `maxBytes` on the content, feeds the content to `digest` (which names the blob) and the
 * transformed bytes to the staging, then commits under the digest. Nothing is stored on failure.
 */
export async function putThroughStage(
  stage: StagedBlob,
  data: Readable | Buffer,
  digest: Hash | Hmac,
  options: PutOptions & { transform?: ContentTransform } = {},
): Promise<StoredBlob> {
  const source = Buffer.isBuffer(data) ? Readable.from([data]) : data;
  const { maxBytes, transform } = options;
  let size = 0;
  try {
    for await (const chunk of source) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += bytes.length;
      if (maxBytes !== undefined && size > maxBytes) {
        source.destroy();
        throw new BlobTooLargeError(maxBytes);
      }
      digest.update(bytes);
      if (!transform) await stage.write(bytes);
      else for (const out of transform.update(bytes)) await stage.write(out);
    }
    const blobId = digest.digest('hex');
    if (transform) for (const out of transform.final(blobId)) await stage.write(out);
    await stage.commit(blobId);
    return { blobId, size };
  } catch (err) {
    await stage.abort().catch(() => undefined);
    throw err;
  }
}
