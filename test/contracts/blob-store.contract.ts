import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobTooLargeError, MAIL_BUCKET, type BlobStore } from '../../src/blob/api';
import { InvalidInputError, NotFoundError } from '../../src/core/errors';

export interface BlobStoreTestee {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A stream of `bytes` cut into chunks of `chunkSize`, as a socket would deliver them. */
function chunked(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkSize) yield bytes.subarray(offset, offset + chunkSize);
    })(),
  );
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The BlobStore port's behaviour, run against every adapter (James' BlobStoreContract). */
export function describeBlobStoreContract(name: string, makeTestee: () => Promise<BlobStoreTestee>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let testee: BlobStoreTestee;
    let store: BlobStore;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.store;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('returns the SHA-256 hex of the bytes as the blob id, and their size', async () => {
      const bytes = Buffer.from('Subject: hello\r\n\r\nbody\r\n');
      expect(await store.put(MAIL_BUCKET, bytes)).toEqual({ blobId: sha256(bytes), size: bytes.length });
    });

    it('reads back the stored bytes as a stream and as a buffer', async () => {
      const bytes = Buffer.from('From: a@example.com\r\n\r\nhi\r\n');
      const { blobId } = await store.put(MAIL_BUCKET, chunked(bytes, 5));
      expect(await drain(await store.read(MAIL_BUCKET, blobId))).toEqual(bytes);
      expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(bytes);
      expect(await store.exists(MAIL_BUCKET, blobId)).toBe(true);
    });

    it('stores the same bytes twice under the same id, once', async () => {
      const bytes = randomBytes(10_000);
      const first = await store.put(MAIL_BUCKET, bytes);
      const second = await store.put(MAIL_BUCKET, chunked(bytes, 999));
      expect(second).toEqual(first);
      // A single copy: one delete removes it.
      await store.delete(MAIL_BUCKET, first.blobId);
      expect(await store.exists(MAIL_BUCKET, first.blobId)).toBe(false);
    });

    it('stores an empty blob', async () => {
      const { blobId, size } = await store.put(MAIL_BUCKET, Buffer.alloc(0));
      expect(size).toBe(0);
      expect(blobId).toBe(sha256(Buffer.alloc(0)));
      expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(Buffer.alloc(0));
    });

    it('refuses a blob over maxBytes with BlobTooLargeError and stores nothing', async () => {
      const bytes = randomBytes(100_001);
      await expect(store.put(MAIL_BUCKET, chunked(bytes, 10_000), { maxBytes: 100_000 })).rejects.toBeInstanceOf(BlobTooLargeError);
      expect(await store.exists(MAIL_BUCKET, sha256(bytes))).toBe(false);
      expect(await store.exists(MAIL_BUCKET, sha256(bytes.subarray(0, 100_000)))).toBe(false);
    });

    it('accepts a blob of exactly maxBytes', async () => {
      const bytes = randomBytes(1_000);
      expect(await store.put(MAIL_BUCKET, bytes, { maxBytes: 1_000 })).toEqual({ blobId: sha256(bytes), size: 1_000 });
    });

    it('rejects reading a missing blob with NotFoundError', async () => {
      const missing = sha256(Buffer.from('never stored'));
      await expect(store.read(MAIL_BUCKET, missing)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.readBytes(MAIL_BUCKET, missing)).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.exists(MAIL_BUCKET, missing)).toBe(false);
    });

    it('refuses invalid blob ids such as ../../etc/passwd with InvalidInputError', async () => {
      for (const bad of ['../../etc/passwd', '', 'A'.repeat(64), `${'a'.repeat(63)}/`, 'a'.repeat(65)]) {
        await expect(store.read(MAIL_BUCKET, bad)).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.readBytes(MAIL_BUCKET, bad)).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.delete(MAIL_BUCKET, bad)).rejects.toBeInstanceOf(InvalidInputError);
      }
    });

    it('answers that no blob exists under an invalid id', async () => {
      expect(await store.exists(MAIL_BUCKET, '../../etc/passwd')).toBe(false);
    });

    it('refuses invalid bucket names with InvalidInputError', async () => {
      const id = sha256(Buffer.from('x'));
      for (const bad of ['', '../mail', 'Mail', 'a'.repeat(41)]) {
        await expect(store.put(bad, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.read(bad, id)).rejects.toBeInstanceOf(InvalidInputError);
      }
    });

    it('keeps buckets apart', async () => {
      const { blobId } = await store.put(MAIL_BUCKET, Buffer.from('only in mail'));
      expect(await store.exists('other', blobId)).toBe(false);
      await expect(store.readBytes('other', blobId)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('deletes a blob, and deleting a missing blob is a no-op', async () => {
      const { blobId } = await store.put(MAIL_BUCKET, Buffer.from('to delete'));
      await store.delete(MAIL_BUCKET, blobId);
      expect(await store.exists(MAIL_BUCKET, blobId)).toBe(false);
      await expect(store.read(MAIL_BUCKET, blobId)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.delete(MAIL_BUCKET, blobId)).resolves.toBeUndefined();
    });

    it('streams a 5 MB blob back byte-identical', async () => {
      const bytes = randomBytes(5 * 1024 * 1024);
      const { blobId, size } = await store.put(MAIL_BUCKET, chunked(bytes));
      expect(size).toBe(bytes.length);
      expect(blobId).toBe(sha256(bytes));
      const read = await drain(await store.read(MAIL_BUCKET, blobId));
      expect(read.length).toBe(bytes.length);
      expect(read.equals(bytes)).toBe(true);
    });
  });
}
