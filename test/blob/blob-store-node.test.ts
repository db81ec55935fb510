import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { MAIL_BUCKET } from '../../src/blob/api';
import { EncryptingBlobStore } from '../../src/blob/encryption/encrypting-blob-store';
import { S3BlobStore } from '../../src/blob/s3/s3-blob-store';
import type { BlobGcProgress } from '../../workflows/blob-gc';
import { deleteBuckets, newRunId } from '../helpers/engines';
import { adminPut, imapClient, sendMail, startTestNode, type TestNode, mailWorkflow } from '../helpers/postflow';

/**
 * A whole node configured with `blobStore.encryption.key`: mail received over SMTP is stored
 * encrypted (the raw file / S3 object does not contain it), read back in clear over IMAP, and the
 * WebAdmin GC route runs the workflow on the node's own worker.
 */
const DOMAIN = 'example.test';
const ALICE = `alice@${DOMAIN}`;
const PASSWORD = 'correct horse battery staple';
const SECRET = 'TOP-SECRET-BODY-MARKER';

describe.each(['embedded', 'distributed'] as const)('A %s node with blob encryption at rest', (profile) => {
  let node: TestNode;
  const bucketPrefix = `pfnode-${newRunId()}-`;

  beforeAll(async () => {
    node = await startTestNode(profile, {
      blobStore: { encryption: { key: randomBytes(32).toString('base64') } },
      ...(profile === 'distributed' ? { s3: { bucketPrefix } } : {}),
    });
    expect((await adminPut(node.webadmin, `/domains/${DOMAIN}`)).status).toBe(204);
    expect((await adminPut(node.webadmin, `/users/${ALICE}`, { password: PASSWORD })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    if (profile === 'distributed' && node) {
      const s3 = S3BlobStore.fromConfig(node.config.s3);
      await deleteBuckets(s3.client, bucketPrefix).catch(() => undefined);
      s3.close();
    }
    await node?.stop();
  }, 60_000);

  it('stores received mail encrypted and serves it in clear over IMAP', async () => {
    expect(node.app.backends.blobs).toBeInstanceOf(EncryptingBlobStore);
    const raw = ['From: bob@remote.example', `To: ${ALICE}`, 'Subject: quarterly numbers', '', `${SECRET} the numbers are up.`, ''].join('\r\n');
    const { mailId } = await sendMail(node.app.ports.smtp as number, { from: 'bob@remote.example', to: [ALICE] }, raw);
    await (await mailWorkflow(node.app.client, mailId)).result();

    const client = imapClient(node.app.ports.imap as number, ALICE, PASSWORD);
    await client.connect();
    let blobFound = false;
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const fetched = await client.fetchOne('*', { source: true });
        expect(fetched && fetched.source?.toString()).toContain(SECRET);
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }

    // What an attacker with the disk or the bucket sees: no plaintext in any stored object.
    for await (const page of node.app.backends.blobs.list(MAIL_BUCKET)) {
      for (const { blobId } of page) {
        const stored = await rawBytes(blobId);
        blobFound = true;
        expect(stored.subarray(0, 4).toString('ascii')).toBe('PFEB');
        expect(stored.includes(SECRET)).toBe(false);
      }
    }
    expect(blobFound).toBe(true);
  }, 60_000);

  it('runs blob garbage collection from WebAdmin on the node worker', async () => {
    const response = await fetch(`${node.webadmin}/blobs?scope=unreferenced`, { method: 'DELETE' });
    expect(response.status).toBe(201);
    const { taskId } = (await response.json()) as { taskId: string };
    const result = (await node.app.client.workflow.getHandle(taskId).result()) as BlobGcProgress;
    // Default grace period: everything here is younger than a week, nothing is deleted.
    expect(result).toMatchObject({ phase: 'completed', deleted: 0 });
    expect(result.young).toBeGreaterThanOrEqual(1);
    expect(result.referencesBySource).toHaveProperty(profile === 'embedded' ? 'sqlite' : 'cassandra');
  }, 60_000);

  async function rawBytes(blobId: string): Promise<Buffer> {
    if (profile === 'embedded') {
      // A small blob is a row of the database (blobStore.inlineMaxBytes), a larger one a file.
      const db = new Database(path.join(node.config.dataDir, 'postflow.db'), { readonly: true });
      try {
        const row = db.prepare('SELECT bytes FROM inline_blobs WHERE bucket = ? AND address = ?').pluck().get(MAIL_BUCKET, blobId) as Buffer | undefined;
        if (row) return row;
      } finally {
        db.close();
      }
      return fs.readFile(path.join(node.config.dataDir, 'blobs', MAIL_BUCKET, blobId.slice(0, 2), blobId.slice(2, 4), blobId));
    }
    const s3 = S3BlobStore.fromConfig(node.config.s3);
    try {
      const response = await s3.client.send(new GetObjectCommand({ Bucket: `${bucketPrefix}${MAIL_BUCKET}`, Key: blobId }));
      return Buffer.from(await response.Body!.transformToByteArray());
    } finally {
      s3.close();
    }
  }
});
