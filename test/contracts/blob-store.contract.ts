import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobTooLargeError, MAIL_BUCKET, type BlobInfo, type BlobStore } from '../../src/blob/api';
import { InvalidInputError, NotFoundError } from '../../src/core/errors';

export interface BlobStoreTestee {
  store: BlobStore;
  cleanup(): Promise<void>;
  /** The id the store gives to `bytes`: SHA-256 hex by default (an encrypting store keys it). */
  blobIdOf?(bytes: Buffer): string;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** S3 reports LastModified in whole seconds: waits that must show in it are longer than one. */
const CLOCK_STEP_MS = 1_100;

async function listAll(store: BlobStore, bucket: string, options: { after?: string; pageSize?: number } = {}): Promise<BlobInfo[][]> {
  const pages: BlobInfo[][] = [];
  for await (const page of store.list(bucket, options)) pages.push(page);
  return pages;
}

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
    let idOf: (bytes: Buffer) => string;

    beforeEach(async () => {
      testee = await makeTestee();
      store = testee.store;
      idOf = testee.blobIdOf ?? sha256;
    });

    afterEach(async () => {
      await testee?.cleanup();
    });

    it('returns the content address of the bytes as the blob id, and their size', async () => {
      const bytes = Buffer.from('Subject: hello\r\n\r\nbody\r\n');
      expect(await store.put(MAIL_BUCKET, bytes)).toEqual({ blobId: idOf(bytes), size: bytes.length });
    });

    it('reads back the stored bytes as a stream and as a buffer', async () => {
      const bytes = Buffer.from('From: a@example.com\r\n\r\nhi\r\n');
      const { blobId } = await store.put(MAIL_BUCKET, chunked(bytes, 5));
      expect(await drain(await store.read(MAIL_BUCKET, blobId))).toEqual(bytes);
      expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(bytes);
      expect(await store.exists(MAIL_BUCKET, blobId)).toBe(true);
    });

    it('reads back, as a buffer and as a stream, blobs on each side of 64 KiB (where a file store switches from blocking to pooled reads)', async () => {
      for (const size of [0, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1024 * 1024]) {
        const bytes = Buffer.alloc(size, size % 251);
        bytes.write(`blob of ${size} bytes`);
        const { blobId } = await store.put(MAIL_BUCKET, bytes);
        const read = await store.readBytes(MAIL_BUCKET, blobId);
        expect(read.length).toBe(size);
        expect(read.equals(bytes)).toBe(true);
        const streamed = await drain(await store.read(MAIL_BUCKET, blobId));
        expect(streamed.length).toBe(size);
        expect(streamed.equals(bytes)).toBe(true);
      }
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
      expect(blobId).toBe(idOf(Buffer.alloc(0)));
      expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(Buffer.alloc(0));
    });

    it('refuses a blob over maxBytes with BlobTooLargeError and stores nothing', async () => {
      const bytes = randomBytes(100_001);
      await expect(store.put(MAIL_BUCKET, chunked(bytes, 10_000), { maxBytes: 100_000 })).rejects.toBeInstanceOf(BlobTooLargeError);
      expect(await store.exists(MAIL_BUCKET, idOf(bytes))).toBe(false);
      expect(await store.exists(MAIL_BUCKET, idOf(bytes.subarray(0, 100_000)))).toBe(false);
      expect(await listAll(store, MAIL_BUCKET)).toEqual([]);
    });

    it('accepts a blob of exactly maxBytes', async () => {
      const bytes = randomBytes(1_000);
      expect(await store.put(MAIL_BUCKET, bytes, { maxBytes: 1_000 })).toEqual({ blobId: idOf(bytes), size: 1_000 });
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
      expect(blobId).toBe(idOf(bytes));
      const read = await drain(await store.read(MAIL_BUCKET, blobId));
      expect(read.length).toBe(bytes.length);
      expect(read.equals(bytes)).toBe(true);
    });

    it('stores two identical attachments once: the listing has one entry', async () => {
      const attachment = randomBytes(3_000);
      const first = await store.put(MAIL_BUCKET, attachment);
      const second = await store.put(MAIL_BUCKET, chunked(attachment, 700));
      expect(second.blobId).toBe(first.blobId);
      const listed = (await listAll(store, MAIL_BUCKET)).flat();
      expect(listed.map((b) => b.blobId)).toEqual([first.blobId]);
      expect(listed[0].size).toBe(attachment.length);
    });

    it('lists a bucket in ascending id order, page by page, with sizes and write times', async () => {
      const before = Date.now() - CLOCK_STEP_MS;
      const stored = await Promise.all([1, 2, 3, 4, 5].map((n) => store.put(MAIL_BUCKET, randomBytes(n * 100))));
      const pages = await listAll(store, MAIL_BUCKET, { pageSize: 2 });
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      const listed = pages.flat();
      const expected = [...stored].sort((a, b) => a.blobId.localeCompare(b.blobId));
      expect(listed.map((b) => ({ blobId: b.blobId, size: b.size }))).toEqual(expected);
      for (const info of listed) {
        expect(info.lastModified).toBeInstanceOf(Date);
        expect(info.lastModified.getTime()).toBeGreaterThanOrEqual(before);
        expect(info.lastModified.getTime()).toBeLessThanOrEqual(Date.now() + CLOCK_STEP_MS);
      }
    });

    it('resumes a listing after a given id', async () => {
      const stored = (await Promise.all([1, 2, 3, 4].map((n) => store.put(MAIL_BUCKET, randomBytes(n * 10))))).map((b) => b.blobId).sort();
      const rest = (await listAll(store, MAIL_BUCKET, { after: stored[1] })).flat();
      expect(rest.map((b) => b.blobId)).toEqual(stored.slice(2));
      expect((await listAll(store, MAIL_BUCKET, { after: stored[3] })).flat()).toEqual([]);
    });

    it('lists nothing for a bucket never written, and keeps buckets apart in listings', async () => {
      await store.put(MAIL_BUCKET, Buffer.from('in mail only'));
      expect(await listAll(store, 'never-written')).toEqual([]);
    });

    it('refuses a listing cursor that is not a blob id with InvalidInputError', async () => {
      await expect(listAll(store, MAIL_BUCKET, { after: '../../etc' })).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('gives the size and write time of a blob, and null for a missing one', async () => {
      const bytes = randomBytes(1234);
      const { blobId } = await store.put(MAIL_BUCKET, bytes);
      const info = await store.stat(MAIL_BUCKET, blobId);
      expect(info).toMatchObject({ blobId, size: 1234 });
      expect(info?.lastModified).toBeInstanceOf(Date);
      expect(await store.stat(MAIL_BUCKET, idOf(Buffer.from('never stored')))).toBeNull();
    });

    it('moves the write time of existing content forward when it is stored again', async () => {
      const bytes = randomBytes(2_000);
      const { blobId } = await store.put(MAIL_BUCKET, bytes);
      const first = (await store.stat(MAIL_BUCKET, blobId))!.lastModified;
      await sleep(CLOCK_STEP_MS);
      await store.put(MAIL_BUCKET, bytes);
      const second = (await store.stat(MAIL_BUCKET, blobId))!.lastModified;
      expect(second.getTime()).toBeGreaterThan(first.getTime());
      expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(bytes);
    });

    it('keeps a blob stored again just after the cut-off, in the same second (dedup during a GC run)', async () => {
      const bytes = randomBytes(700);
      const { blobId } = await store.put(MAIL_BUCKET, bytes);
      await sleep(CLOCK_STEP_MS);
      // A cut-off early in a second and the deduplicated put right after it: S3 reports the put's
      // write time in whole seconds, i.e. before the cut-off.
      while (Date.now() % 1_000 > 300) await sleep(10);
      const cutoff = new Date();
      await sleep(5);
      expect((await store.put(MAIL_BUCKET, bytes)).blobId).toBe(blobId);
      expect(await store.deleteIfUnmodifiedSince(MAIL_BUCKET, blobId, cutoff)).toBe(false);
      expect(await store.readBytes(MAIL_BUCKET, blobId)).toEqual(bytes);
    });

    it('deletes through deleteIfUnmodifiedSince only a blob written before the cut-off', async () => {
      const { blobId } = await store.put(MAIL_BUCKET, randomBytes(500));
      const writtenAt = (await store.stat(MAIL_BUCKET, blobId))!.lastModified;
      expect(await store.deleteIfUnmodifiedSince(MAIL_BUCKET, blobId, writtenAt)).toBe(false);
      expect(await store.exists(MAIL_BUCKET, blobId)).toBe(true);
      expect(await store.deleteIfUnmodifiedSince(MAIL_BUCKET, blobId, new Date(writtenAt.getTime() + CLOCK_STEP_MS))).toBe(true);
      expect(await store.exists(MAIL_BUCKET, blobId)).toBe(false);
      expect(await store.deleteIfUnmodifiedSince(MAIL_BUCKET, blobId, new Date())).toBe(false);
    });
  });
}
