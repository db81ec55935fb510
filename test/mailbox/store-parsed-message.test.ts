import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BlobTooLargeError, MAIL_BUCKET } from '../../src/blob/api';
import { FileBlobStore } from '../../src/blob/file/file-blob-store';
import { storeParsedMessage } from '../../src/mailbox/store-parsed-message';
import { parseMessage } from '../../src/mime/mime-parser';

const message = Buffer.from(
  'From: a@example.net\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello there\r\n--b\r\nContent-Type: application/pdf; name=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n',
);

function chunks(bytes: Buffer, size: number): Buffer[] {
  return Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

async function blobCount(store: FileBlobStore): Promise<number> {
  let n = 0;
  for await (const page of store.list(MAIL_BUCKET)) n += page.length;
  return n;
}

describe('storeParsedMessage', () => {
  let dir: string;
  let store: FileBlobStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-store-parsed-'));
    store = await new FileBlobStore(dir).init();
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([1, 7, 64 * 1024])('stores byte-exact and parses like parseMessage, from chunks of %i bytes', async (size) => {
    const stored = await storeParsedMessage(store, Readable.from(chunks(message, size)));
    expect(await store.readBytes(MAIL_BUCKET, stored.blobId)).toEqual(message);
    expect(stored.size).toBe(message.length);
    expect(stored.parsed).toEqual(await parseMessage(message));
    expect(stored.parsed.summary.attachments.map((a) => a.name)).toEqual(['x.pdf']);
  });

  it('stores and parses a buffer the same as a stream of it', async () => {
    const fromBuffer = await storeParsedMessage(store, message);
    const fromStream = await storeParsedMessage(store, Readable.from([message]));
    expect(fromBuffer.blobId).toBe(fromStream.blobId);
    expect(fromBuffer.parsed).toEqual(fromStream.parsed);
  });

  it('refuses a message over maxBytes, stores nothing and releases the source stream', async () => {
    const source = Readable.from(chunks(message, 16));
    await expect(storeParsedMessage(store, source, { maxBytes: 100 })).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(source.destroyed).toBe(true);
    await expect(storeParsedMessage(store, message, { maxBytes: message.length - 1 })).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(await blobCount(store)).toBe(0);
    expect((await storeParsedMessage(store, message, { maxBytes: message.length })).size).toBe(message.length);
  });

  it('fails and stores nothing when the source breaks midway', async () => {
    const source = Readable.from(
      (async function* () {
        yield message.subarray(0, 40);
        throw new Error('connection reset');
      })(),
    );
    await expect(storeParsedMessage(store, source)).rejects.toThrow('connection reset');
    expect(await blobCount(store)).toBe(0);
  });

  it('stores a truncated, malformed message byte-exact with its defects described', async () => {
    const broken = Buffer.from('Subject: cut\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhalf a li');
    const stored = await storeParsedMessage(store, Readable.from(chunks(broken, 5)));
    expect(await store.readBytes(MAIL_BUCKET, stored.blobId)).toEqual(broken);
    expect(stored.parsed.summary.defects).toContain('multipart not terminated by its closing boundary');
  });
});
