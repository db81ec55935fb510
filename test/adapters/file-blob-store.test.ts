import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobKey } from '../../src/blob/encryption/blob-cipher';
import { EncryptingBlobStore } from '../../src/blob/encryption/encrypting-blob-store';
import { FileBlobStore } from '../../src/blob/file/file-blob-store';
import { describeBlobStoreContract } from '../contracts/blob-store.contract';

describeBlobStoreContract('files', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-blobs-'));
  return {
    store: await new FileBlobStore(dir).init(),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeBlobStoreContract('files, encrypted (AES-256-GCM)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postflow-blobs-'));
  const key = randomBytes(32);
  return {
    store: new EncryptingBlobStore(await new FileBlobStore(dir).init(), new BlobKey(key)),
    blobIdOf: (bytes) => keyedAddress(key, bytes),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** The documented address of an encrypted blob: HMAC-SHA-256 of the plaintext under HKDF(key, "postflow/blob/v1/address"). */
function keyedAddress(key: Buffer, bytes: Buffer): string {
  const addressKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'postflow/blob/v1/address', 32));
  return createHmac('sha256', addressKey).update(bytes).digest('hex');
}

describe('FileBlobStore reads', () => {
  it('reports a blob whose file was replaced by a directory as an error, not as content', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postflow-blobs-'));
    try {
      const store = await new FileBlobStore(dir).init();
      const { blobId } = await store.put('mail', Buffer.from('Subject: x\r\n\r\nbody\r\n'));
      const file = path.join(dir, 'mail', blobId.slice(0, 2), blobId.slice(2, 4), blobId);
      rmSync(file);
      mkdirSync(file);
      await expect(store.readBytes('mail', blobId)).rejects.toThrow(/EISDIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
