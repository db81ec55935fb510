import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { BlobKey } from '../../src/blob/encryption/blob-cipher';
import { EncryptingBlobStore } from '../../src/blob/encryption/encrypting-blob-store';
import { S3BlobStore } from '../../src/blob/s3/s3-blob-store';
import { describeBlobStoreContract } from '../contracts/blob-store.contract';
import { deleteBuckets, distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';

const runId = newRunId();

beforeAll(async () => {
  await requireEngines(distributedTestConfig(runId), 's3');
});

// Each test gets its own bucket prefix, so its buckets start empty; cleanup deletes them.
let testIndex = 0;
function s3Testee() {
  const config = distributedTestConfig(runId, { s3: { bucketPrefix: `pft-${runId}-${testIndex++}-` } });
  const store = S3BlobStore.fromConfig(config.s3);
  return {
    store,
    async cleanup() {
      await deleteBuckets(store.client, config.s3.bucketPrefix);
      store.close();
    },
  };
}

describeBlobStoreContract('S3', async () => s3Testee());

describeBlobStoreContract('S3, encrypted (AES-256-GCM)', async () => {
  const { store, cleanup } = s3Testee();
  const key = randomBytes(32);
  const addressKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'postflow/blob/v1/address', 32));
  return {
    store: new EncryptingBlobStore(store, new BlobKey(key)),
    blobIdOf: (bytes) => createHmac('sha256', addressKey).update(bytes).digest('hex'),
    cleanup,
  };
});
