import { S3BlobStore } from '../../src/blob/s3/s3-blob-store';
import { describeBlobStoreContract } from '../contracts/blob-store.contract';
import { deleteBuckets, distributedTestConfig, newRunId, requireEngines } from '../helpers/engines';

const runId = newRunId();

beforeAll(async () => {
  await requireEngines(distributedTestConfig(runId), 's3');
});

// Each test gets its own bucket prefix, so its buckets start empty; cleanup deletes them.
let testIndex = 0;
describeBlobStoreContract('S3', async () => {
  const config = distributedTestConfig(runId, { s3: { bucketPrefix: `pft-${runId}-${testIndex++}-` } });
  const store = S3BlobStore.fromConfig(config.s3);
  return {
    store,
    async cleanup() {
      await deleteBuckets(store.client, config.s3.bucketPrefix);
      store.close();
    },
  };
});
