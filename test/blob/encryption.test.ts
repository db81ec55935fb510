import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BlobDecryptionError, MAIL_BUCKET, WrongBlobKeyError, type BlobStorage } from '../../src/blob/api';
import { BlobKey, HEADER_LENGTH, SEGMENT_SIZE, TAG_LENGTH, encryptedSize } from '../../src/blob/encryption/blob-cipher';
import { EncryptingBlobStore, withOptionalEncryption } from '../../src/blob/encryption/encrypting-blob-store';
import { FileBlobStore } from '../../src/blob/file/file-blob-store';
import { S3BlobStore } from '../../src/blob/s3/s3-blob-store';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { InvalidInputError } from '../../src/core/errors';
import { deleteBuckets, distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';

/** A plain adapter plus raw access to what it stored, the way an attacker with the disk or the bucket sees it. */
interface RawTestee {
  storage: BlobStorage;
  rawBytes(blobId: string): Promise<Buffer>;
  writeRaw(blobId: string, bytes: Buffer): Promise<void>;
  cleanup(): Promise<void>;
}

async function fileTestee(): Promise<RawTestee> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-enc-'));
  const file = (id: string) => path.join(dir, MAIL_BUCKET, id.slice(0, 2), id.slice(2, 4), id);
  return {
    storage: await new FileBlobStore(dir).init(),
    rawBytes: (id) => fs.readFile(file(id)),
    async writeRaw(id, bytes) {
      await fs.mkdir(path.dirname(file(id)), { recursive: true });
      await fs.writeFile(file(id), bytes);
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const runId = newRunId();
let s3Index = 0;
async function s3Testee(): Promise<RawTestee> {
  const config = distributedTestConfig(runId, { s3: { bucketPrefix: `pfe-${runId}-${s3Index++}-` } });
  const store = S3BlobStore.fromConfig(config.s3);
  const bucket = `${config.s3.bucketPrefix}${MAIL_BUCKET}`;
  return {
    storage: store,
    async rawBytes(id) {
      const response = await store.client.send(new GetObjectCommand({ Bucket: bucket, Key: id }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    async writeRaw(id, bytes) {
      await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: id, Body: bytes }));
    },
    async cleanup() {
      await deleteBuckets(store.client, config.s3.bucketPrefix);
      store.close();
    },
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Reads what a stream delivers before it fails, and the failure. */
async function drainUntilError(stream: Readable): Promise<{ delivered: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (error) {
    return { delivered: Buffer.concat(chunks), error };
  }
  return { delivered: Buffer.concat(chunks), error: null };
}

/** A message-like text: the marker must not appear in anything stored. */
function messageWithMarker(size: number): Buffer {
  const head = Buffer.from('From: alice@example.test\r\nSubject: TOP-SECRET-MARKER quarterly numbers\r\n\r\n');
  const body = Buffer.alloc(Math.max(0, size - head.length), 'TOP-SECRET-MARKER the body repeats it. ');
  return Buffer.concat([head, body]);
}

beforeAll(async () => {
  await requireEngines(distributedTestConfig(runId), 's3');
});

describe.each([
  ['files', fileTestee],
  ['S3', s3Testee],
])('Encryption at rest on %s', (_name, makeTestee) => {
  let testee: RawTestee;
  let key: BlobKey;
  let store: EncryptingBlobStore;

  beforeEach(async () => {
    testee = await makeTestee();
    key = new BlobKey(randomBytes(32));
    store = new EncryptingBlobStore(testee.storage, key);
  });

  afterEach(async () => {
    await testee.cleanup();
  });

  it('stores bytes in which the plaintext cannot be found', async () => {
    const message = messageWithMarker(200_000);
    const { blobId, size } = await store.put(MAIL_BUCKET, message);
    expect(size).toBe(message.length);
    const raw = await testee.rawBytes(blobId);
    expect(raw.length).toBe(encryptedSize(message.length));
    expect(raw.includes('TOP-SECRET-MARKER')).toBe(false);
    expect(raw.includes('alice@example.test')).toBe(false);
    expect(raw.subarray(0, 4).toString('ascii')).toBe('PFEB');
    expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(message);
  });

  it('gives the blob a keyed id: not the SHA-256 of the plaintext, and another key gives another id', async () => {
    const message = messageWithMarker(1_000);
    const { blobId } = await store.put(MAIL_BUCKET, message);
    expect(blobId).not.toBe(sha256(message));
    const other = new EncryptingBlobStore(testee.storage, new BlobKey(randomBytes(32)));
    expect((await other.put(MAIL_BUCKET, message)).blobId).not.toBe(blobId);
  });

  it('still stores two identical attachments once', async () => {
    const attachment = randomBytes(150_000);
    const first = await store.put(MAIL_BUCKET, attachment);
    const second = await store.put(MAIL_BUCKET, Readable.from([attachment.subarray(0, 1000), attachment.subarray(1000)]));
    expect(second).toEqual(first);
    const listed: string[] = [];
    for await (const page of store.list(MAIL_BUCKET)) listed.push(...page.map((b) => b.blobId));
    expect(listed).toEqual([first.blobId]);
  });

  it('reports plaintext sizes in stat and listings, at segment boundaries too', async () => {
    for (const size of [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 2 * SEGMENT_SIZE, 3 * SEGMENT_SIZE + 17]) {
      const bytes = randomBytes(size);
      const { blobId } = await store.put(MAIL_BUCKET, bytes);
      expect((await store.stat(MAIL_BUCKET, blobId))?.size).toBe(size);
      expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(bytes);
      expect((await testee.rawBytes(blobId)).length).toBe(encryptedSize(size));
    }
    const sizes: number[] = [];
    for await (const page of store.list(MAIL_BUCKET)) sizes.push(...page.map((b) => b.size));
    expect(sizes.sort((a, b) => a - b)).toEqual([0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 2 * SEGMENT_SIZE, 3 * SEGMENT_SIZE + 17]);
  });

  it('refuses to read a blob with another key: WrongBlobKeyError naming both key ids, no bytes', async () => {
    const { blobId } = await store.put(MAIL_BUCKET, messageWithMarker(5_000));
    const otherKey = new BlobKey(randomBytes(32));
    const other = new EncryptingBlobStore(testee.storage, otherKey);
    const error = await other.readBytes(MAIL_BUCKET, blobId).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WrongBlobKeyError);
    expect((error as Error).message).toContain(key.keyId);
    expect((error as Error).message).toContain(otherKey.keyId);
    expect((error as Error).message).toContain('blobStore.encryption.key');
    await expect(other.read(MAIL_BUCKET, blobId)).rejects.toBeInstanceOf(WrongBlobKeyError);
  });

  it('gives only ciphertext to a node configured without the key', async () => {
    const message = messageWithMarker(3_000);
    const { blobId } = await store.put(MAIL_BUCKET, message);
    const plainRead = await testee.storage.readBytes(MAIL_BUCKET, blobId);
    expect(plainRead.includes('TOP-SECRET-MARKER')).toBe(false);
    expect(plainRead.equals(message)).toBe(false);
  });

  it('refuses a blob stored without encryption with a clear error', async () => {
    const { blobId } = await testee.storage.put(MAIL_BUCKET, Buffer.from('Subject: stored in clear\r\n\r\nhello\r\n'));
    const error = await store.readBytes(MAIL_BUCKET, blobId).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BlobDecryptionError);
    expect((error as Error).message).toMatch(/not an encrypted blob/);
  });

  it('fails authentication on a flipped byte instead of returning altered bytes', async () => {
    const message = messageWithMarker(10_000);
    const { blobId } = await store.put(MAIL_BUCKET, message);
    const raw = await testee.rawBytes(blobId);
    raw[HEADER_LENGTH + 100] ^= 0x01;
    await testee.writeRaw(blobId, raw);
    await expect(store.readBytes(MAIL_BUCKET, blobId)).rejects.toThrow(/failed authentication/);
    const { delivered, error } = await drainUntilError(await store.read(MAIL_BUCKET, blobId));
    expect(error).toBeInstanceOf(BlobDecryptionError);
    expect(delivered.length).toBe(0);
  });

  it('streams only authenticated segments: a corruption in the third segment fails before any of its bytes', async () => {
    const message = randomBytes(3 * SEGMENT_SIZE + 500);
    const { blobId } = await store.put(MAIL_BUCKET, message);
    const raw = await testee.rawBytes(blobId);
    raw[HEADER_LENGTH + 2 * (SEGMENT_SIZE + TAG_LENGTH) + 10] ^= 0x80;
    await testee.writeRaw(blobId, raw);
    const { delivered, error } = await drainUntilError(await store.read(MAIL_BUCKET, blobId));
    expect(error).toBeInstanceOf(BlobDecryptionError);
    expect((error as Error).message).toContain('segment 2');
    expect(delivered.equals(message.subarray(0, 2 * SEGMENT_SIZE))).toBe(true);
  });

  it('detects truncation: inside the last segment, at a segment boundary, and inside the header', async () => {
    const message = randomBytes(2 * SEGMENT_SIZE + 300);
    const { blobId } = await store.put(MAIL_BUCKET, message);
    const raw = await testee.rawBytes(blobId);
    const cuts = [raw.length - 5, HEADER_LENGTH + 2 * (SEGMENT_SIZE + TAG_LENGTH), HEADER_LENGTH + SEGMENT_SIZE + TAG_LENGTH, HEADER_LENGTH + 3, HEADER_LENGTH, 10];
    for (const cut of cuts) {
      await testee.writeRaw(blobId, raw.subarray(0, cut));
      await expect(store.readBytes(MAIL_BUCKET, blobId)).rejects.toBeInstanceOf(BlobDecryptionError);
    }
  });

  it('detects bytes appended after the last segment', async () => {
    const { blobId } = await store.put(MAIL_BUCKET, randomBytes(1_000));
    const raw = await testee.rawBytes(blobId);
    await testee.writeRaw(blobId, Buffer.concat([raw, randomBytes(40)]));
    await expect(store.readBytes(MAIL_BUCKET, blobId)).rejects.toBeInstanceOf(BlobDecryptionError);
  });

  it('detects a tampered header (the nonce prefix) through authentication', async () => {
    const { blobId } = await store.put(MAIL_BUCKET, randomBytes(1_000));
    const raw = await testee.rawBytes(blobId);
    raw[HEADER_LENGTH - 1] ^= 0xff;
    await testee.writeRaw(blobId, raw);
    await expect(store.readBytes(MAIL_BUCKET, blobId)).rejects.toThrow(/failed authentication/);
  });

  it("refuses an object copied under another blob's id", async () => {
    const a = await store.put(MAIL_BUCKET, Buffer.from('Subject: a\r\n\r\nfirst\r\n'));
    const b = await store.put(MAIL_BUCKET, Buffer.from('Subject: b\r\n\r\nsecond\r\n'));
    await testee.writeRaw(b.blobId, await testee.rawBytes(a.blobId));
    await expect(store.readBytes(MAIL_BUCKET, b.blobId)).rejects.toThrow(/another blob's id/);
  });

  it('streams a 50 MB blob in and out without holding it, byte-identical', async () => {
    const size = 50 * 1024 * 1024;
    const chunk = 256 * 1024;
    const expected = createHash('sha256');
    // Deterministic, never materialised as a whole: each chunk derives from its index.
    const source = Readable.from(
      (function* () {
        for (let offset = 0, i = 0; offset < size; offset += chunk, i++) {
          const bytes = createHash('sha512').update(String(i)).digest();
          const part = Buffer.alloc(chunk, bytes);
          expected.update(part);
          yield part;
        }
      })(),
    );
    const { blobId, size: stored } = await store.put(MAIL_BUCKET, source);
    expect(stored).toBe(size);
    const actual = createHash('sha256');
    let length = 0;
    for await (const part of await store.read(MAIL_BUCKET, blobId)) {
      actual.update(part as Buffer);
      length += (part as Buffer).length;
      // One segment at a time: no chunk handed out is larger than a segment.
      expect((part as Buffer).length).toBeLessThanOrEqual(SEGMENT_SIZE);
    }
    expect(length).toBe(size);
    expect(actual.digest('hex')).toBe(expected.digest('hex'));
  }, 120_000);
});

describe('Encryption key configuration', () => {
  const valid = randomBytes(32).toString('base64');

  it('accepts a base64 32-byte key from the file and from POSTFLOW_BLOB_STORE_ENCRYPTION', () => {
    expect(loadConfig({ env: {}, overrides: { blobStore: { encryption: { key: valid } } } }).blobStore.encryption.key).toBe(valid);
    expect(loadConfig({ env: { POSTFLOW_BLOB_STORE_ENCRYPTION: valid } }).blobStore.encryption.key).toBe(valid);
  });

  it('leaves blobs in clear when no key (or an empty one) is configured', () => {
    expect(loadConfig({ env: {} }).blobStore.encryption.key).toBeUndefined();
    expect(loadConfig({ env: { POSTFLOW_BLOB_STORE_ENCRYPTION: '' } }).blobStore.encryption.key).toBeUndefined();
  });

  it.each([
    ['a 16-byte key', randomBytes(16).toString('base64')],
    ['a 33-byte key', randomBytes(33).toString('base64')],
    ['hex instead of base64', randomBytes(32).toString('hex')],
    ['base64 with garbage', `${valid.slice(0, -2)}!=`],
  ])('stops start-up on %s with an error naming blobStore.encryption.key', (_what, key) => {
    for (const load of [
      () => loadConfig({ env: {}, overrides: { blobStore: { encryption: { key } } } }),
      () => loadConfig({ env: { POSTFLOW_BLOB_STORE_ENCRYPTION: key } }),
    ]) {
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/blobStore\.encryption\.key: expected base64 of exactly 32 bytes/);
    }
  });

  it('refuses a wrong-length key in code too, naming the key and never printing it', () => {
    const short = randomBytes(16);
    expect(() => new BlobKey(short)).toThrow(InvalidInputError);
    expect(() => new BlobKey(short)).toThrow(/blobStore\.encryption\.key/);
    expect(() => BlobKey.fromBase64('c2hvcnQ=')).toThrow(/blobStore\.encryption\.key/);
    try {
      BlobKey.fromBase64(short.toString('base64'));
    } catch (err) {
      expect((err as Error).message).not.toContain(short.toString('base64'));
    }
  });

  it('wraps the adapter only when a key is configured', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-enc-'));
    try {
      const storage = await new FileBlobStore(dir).init();
      expect(withOptionalEncryption(storage, {})).toBe(storage);
      expect(withOptionalEncryption(storage, { key: valid })).toBeInstanceOf(EncryptingBlobStore);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
