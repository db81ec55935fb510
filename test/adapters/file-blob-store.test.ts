import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
