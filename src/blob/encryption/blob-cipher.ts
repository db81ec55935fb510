import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, type Hmac } from 'node:crypto';
import { InvalidInputError } from '../../core/errors';
import { BlobDecryptionError, WrongBlobKeyError } from '../api/errors';
import type { ContentTransform } from '../staging';

/**
 * Encrypted blob format, version 1 (a segmented AEAD, like Tink's streaming AES-GCM-HKDF and age):
 *
 * ```
 * header  = magic "PFEB" | version 0x01 | key id (8) | salt (16) | nonce prefix (7)   = 36 bytes
 * segment = AES-256-GCM(blob key, nonce, aad, plaintext[64 KiB]) | tag (16)
 * aad      = header; on the last segment header | blob id (64 ASCII hex digits)
 * blob    = header | segment 0 | segment 1 | … | last segment (0 to 64 KiB of plaintext)
 * nonce   = nonce prefix (7) | segment index, uint32 big-endian (4) | 0x01 on the last segment else 0x00
 * blob key = HKDF-SHA-256(master key, salt, "postflow/blob/v1/aes-256-gcm")
 * ```
 *
 * Each segment is authenticated on its own, so a reader releases only authenticated bytes and
 * never holds more than one segment; the last-segment flag in the nonce makes a blob cut at a
 * segment boundary fail too; the blob id in the last segment's AAD makes an object copied under
 * another id fail. A fresh random salt per blob gives every blob its own key, so nonces (counters)
 * never repeat under one key, however many blobs are written.
 */
export const MAGIC = Buffer.from('PFEB', 'ascii');
export const FORMAT_VERSION = 1;
export const KEY_ID_LENGTH = 8;
export const SALT_LENGTH = 16;
export const NONCE_PREFIX_LENGTH = 7;
export const HEADER_LENGTH = MAGIC.length + 1 + KEY_ID_LENGTH + SALT_LENGTH + NONCE_PREFIX_LENGTH;
/** Plaintext bytes per segment: bounds what a reader holds and what one tag covers. */
export const SEGMENT_SIZE = 64 * 1024;
export const TAG_LENGTH = 16;
/** AES-256 takes a 32-byte key. */
export const KEY_LENGTH = 32;
/** The segment index is a 32-bit counter: 2^32 segments of 64 KiB = 256 TiB per blob. */
const MAX_SEGMENTS = 2 ** 32;

const BLOB_KEY_INFO = 'postflow/blob/v1/aes-256-gcm';
const ADDRESS_KEY_INFO = 'postflow/blob/v1/address';
const KEY_ID_INFO = 'postflow/blob/key-id';

/**
 * The master key of an encrypting blob store and what is derived from it. Never logged; its key
 * id (a digest) names it in errors.
 */
export class BlobKey {
  /** Hex of the first 8 bytes of HMAC-SHA-256(key, "postflow/blob/key-id"): names the key without revealing it. */
  readonly keyId: string;
  private readonly addressKey: Buffer;

  constructor(private readonly master: Buffer) {
    if (master.length !== KEY_LENGTH) {
      throw new InvalidInputError(`blobStore.encryption.key: an AES-256 key is ${KEY_LENGTH} bytes, got ${master.length}`);
    }
    this.keyId = createHmac('sha256', master).update(KEY_ID_INFO).digest().subarray(0, KEY_ID_LENGTH).toString('hex');
    this.addressKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), ADDRESS_KEY_INFO, 32));
  }

  /** Parses `blobStore.encryption.key`: base64 of exactly 32 bytes. */
  static fromBase64(value: string): BlobKey {
    if (!isBase64Key(value)) {
      throw new InvalidInputError(`blobStore.encryption.key: expected base64 of exactly ${KEY_LENGTH} bytes (generate one with \`openssl rand -base64 32\`)`);
    }
    return new BlobKey(Buffer.from(value, 'base64'));
  }

  /** The digest naming a blob: HMAC-SHA-256 of the plaintext under a key derived from the master key. */
  addressDigest(): Hmac {
    return createHmac('sha256', this.addressKey);
  }

  deriveBlobKey(salt: Buffer): Buffer {
    return Buffer.from(hkdfSync('sha256', this.master, salt, BLOB_KEY_INFO, KEY_LENGTH));
  }
}

/** True for canonical base64 of exactly 32 bytes (what `openssl rand -base64 32` prints). */
export function isBase64Key(value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === KEY_LENGTH && bytes.toString('base64') === value;
}

function aad(header: Buffer, lastOf: string | null): Buffer {
  return lastOf === null ? header : Buffer.concat([header, Buffer.from(lastOf, 'ascii')]);
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const out = Buffer.alloc(12);
  prefix.copy(out, 0);
  out.writeUInt32BE(index, NONCE_PREFIX_LENGTH);
  out[11] = last ? 1 : 0;
  return out;
}

/** Encrypts a stream of plaintext chunks into the format above, one segment at a time. */
export class SegmentEncryptor implements ContentTransform {
  private readonly header: Buffer;
  private readonly blobKey: Buffer;
  private readonly noncePrefix: Buffer;
  private pending: Buffer = Buffer.alloc(0);
  private index = 0;
  private headerSent = false;

  constructor(key: BlobKey) {
    const salt = randomBytes(SALT_LENGTH);
    this.noncePrefix = randomBytes(NONCE_PREFIX_LENGTH);
    this.header = Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION]), Buffer.from(key.keyId, 'hex'), salt, this.noncePrefix]);
    this.blobKey = key.deriveBlobKey(salt);
  }

  update(plaintext: Buffer): Buffer[] {
    const out = this.takeHeader();
    this.pending = this.pending.length === 0 ? plaintext : Buffer.concat([this.pending, plaintext]);
    // Keep the last (possibly full) segment back: only the end of the stream says it is the last.
    while (this.pending.length > SEGMENT_SIZE) {
      out.push(...this.seal(this.pending.subarray(0, SEGMENT_SIZE), null));
      this.pending = this.pending.subarray(SEGMENT_SIZE);
    }
    return out;
  }

  final(blobId: string): Buffer[] {
    const out = this.takeHeader();
    out.push(...this.seal(this.pending, blobId));
    this.pending = Buffer.alloc(0);
    return out;
  }

  private takeHeader(): Buffer[] {
    if (this.headerSent) return [];
    this.headerSent = true;
    return [this.header];
  }

  /** Encrypts one segment; `lastOf` is the blob id when it is the last one. */
  private seal(plaintext: Buffer, lastOf: string | null): Buffer[] {
    if (this.index >= MAX_SEGMENTS) throw new InvalidInputError('Blob too large to encrypt (more than 2^32 segments)');
    const cipher = createCipheriv('aes-256-gcm', this.blobKey, nonce(this.noncePrefix, this.index++, lastOf !== null), { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad(this.header, lastOf));
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    return [ciphertext, cipher.getAuthTag()];
  }
}

export interface BlobHeader {
  bytes: Buffer;
  blobKey: Buffer;
  noncePrefix: Buffer;
}

/** Checks the header of an encrypted blob (`location` names it in errors) and derives its key. */
export function openHeader(head: Buffer, key: BlobKey, location: string): BlobHeader {
  if (head.length < HEADER_LENGTH || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BlobDecryptionError(`Blob ${location} is not an encrypted blob (no Postflow encryption header): it was stored without encryption or is damaged`);
  }
  const version = head[MAGIC.length];
  if (version !== FORMAT_VERSION) throw new BlobDecryptionError(`Blob ${location} uses encryption format version ${version}, this node reads version ${FORMAT_VERSION}`);
  let offset = MAGIC.length + 1;
  const keyId = head.subarray(offset, (offset += KEY_ID_LENGTH)).toString('hex');
  if (keyId !== key.keyId) throw new WrongBlobKeyError(location, keyId, key.keyId);
  const salt = head.subarray(offset, (offset += SALT_LENGTH));
  const noncePrefix = Buffer.from(head.subarray(offset, offset + NONCE_PREFIX_LENGTH));
  return { bytes: Buffer.from(head.subarray(0, HEADER_LENGTH)), blobKey: key.deriveBlobKey(salt), noncePrefix };
}

/**
 * Decrypts the segments that follow the header, yielding each segment's plaintext only once its
 * tag verified. Ends with BlobDecryptionError on a corrupted, truncated or extended blob, and on an
 * object copied under another blob's id (the id is authenticated with the last segment).
 */
export async function* decryptSegments(
  header: BlobHeader,
  rest: Buffer,
  source: AsyncIterator<unknown>,
  check: { location: string; blobId: string },
): AsyncGenerator<Buffer> {
  const segmentLength = SEGMENT_SIZE + TAG_LENGTH;
  let buffer = rest;
  let index = 0;
  const open = (sealed: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', header.blobKey, nonce(header.noncePrefix, index, last), { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad(header.bytes, last ? check.blobId : null));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
    try {
      decipher.final();
    } catch {
      throw new BlobDecryptionError(
        `Blob ${check.location} cannot be decrypted: segment ${index} failed authentication (the stored bytes are corrupted, truncated, tampered with${
          last ? ", or those of another blob's id" : ''
        })`,
      );
    }
    index++;
    return plaintext;
  };
  try {
    for (;;) {
      const next = await source.next();
      if (next.done) break;
      const chunk = next.value as Buffer;
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      while (buffer.length > segmentLength) {
        const plaintext = open(buffer.subarray(0, segmentLength), false);
        buffer = buffer.subarray(segmentLength);
        yield plaintext;
      }
    }
    if (buffer.length < TAG_LENGTH) {
      throw new BlobDecryptionError(`Blob ${check.location} cannot be decrypted: it is truncated (segment ${index} is incomplete)`);
    }
    yield open(buffer, true);
  } finally {
    await source.return?.();
  }
}

/** Size of the stored (encrypted) form of `plaintextSize` bytes. */
export function encryptedSize(plaintextSize: number): number {
  const segments = Math.max(1, Math.ceil(plaintextSize / SEGMENT_SIZE));
  return HEADER_LENGTH + plaintextSize + segments * TAG_LENGTH;
}

/** Size of the plaintext of a stored (encrypted) blob of `storedSize` bytes; 0 for a damaged one. */
export function plaintextSize(storedSize: number): number {
  const body = storedSize - HEADER_LENGTH;
  if (body < TAG_LENGTH) return 0;
  const segments = Math.ceil(body / (SEGMENT_SIZE + TAG_LENGTH));
  return body - segments * TAG_LENGTH;
}
