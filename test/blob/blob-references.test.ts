import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BlobReferenceSource } from '../../src/blob/api';
import type { MailReference } from '../../src/core/mail';
import { PermanentError } from '../../src/core/errors';
import { CassandraBlobReferences } from '../../src/storage/cassandra/cassandra-blob-references';
import { CassandraMailRepositoryStore } from '../../src/storage/cassandra/cassandra-mail-repository-store';
import { MAIL_REPOSITORY_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { SqliteAcceptedMailJournal } from '../../src/storage/sqlite/sqlite-accepted-mail-journal';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteBlobReferences } from '../../src/storage/sqlite/sqlite-blob-references';
import { SqliteMailRepositoryStore } from '../../src/storage/sqlite/sqlite-mail-repository-store';
import { useCassandraKeyspace } from '../helpers/store-fixtures';

const blobId = () => randomBytes(32).toString('hex');

function mail(messageBlobId: string, attributes: MailReference['attributes'] = {}): MailReference {
  return {
    mailId: randomUUID(),
    name: 'mail',
    sender: null,
    recipients: ['bob@example.test'],
    messageBlobId,
    size: 10,
    state: 'error',
    remoteAddr: '127.0.0.1',
    remoteHost: 'localhost',
    authUser: null,
    receivedAt: new Date().toISOString(),
    attributes,
    errorMessage: 'boom',
  };
}

async function collect(source: BlobReferenceSource): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of source.references()) ids.push(...batch);
  return ids;
}

describe('SqliteBlobReferences', () => {
  let dir: string;
  let db: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-refs-'));
    db = new Database(path.join(dir, 'postflow.db'));
    migrate(db);
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the messages table and the mails of the mail repositories', async () => {
    const source = new SqliteBlobReferences(db);
    expect(source.columns()).toEqual(expect.arrayContaining([
      { table: 'messages', column: 'blob_id', kind: 'ids' },
      { table: 'mail_repository', column: 'mail', kind: 'json' },
    ]));
    const inRepository = blobId();
    const inAttribute = blobId();
    await new SqliteMailRepositoryStore(db).store('var/mail/error/', 'k1', mail(inRepository, { 'postflow.attachment': { partBlobId: inAttribute } }));
    const ids = await collect(source);
    expect(ids).toEqual(expect.arrayContaining([inRepository, inAttribute]));
  });

  it('reads the mails accepted and not yet started (the journal hand-off): their message is in use', async () => {
    const source = new SqliteBlobReferences(db);
    expect(source.columns()).toEqual(expect.arrayContaining([{ table: 'accepted_mails', column: 'reference', kind: 'json' }]));
    const journaled = blobId();
    await new SqliteAcceptedMailJournal(db).add(mail(journaled));
    expect(await collect(source)).toContain(journaled);
  });

  it('finds blob ids in columns and tables the mailbox schema adds later (…blob_id, …blob_ids as JSON)', async () => {
    const header = blobId();
    const parts = [blobId(), blobId()];
    db.exec('CREATE TABLE attachments_probe (message_id TEXT PRIMARY KEY, header_blob_id TEXT, part_blob_ids TEXT, note TEXT)');
    db.prepare('INSERT INTO attachments_probe VALUES (?, ?, ?, ?)').run('m1', header, JSON.stringify(parts), 'not a reference');
    const ids = await collect(new SqliteBlobReferences(db));
    expect(ids).toEqual(expect.arrayContaining([header, ...parts]));
    expect(ids).not.toContain('not a reference');
  });

  it('reads a snapshot: rows written while it scans do not disturb it', async () => {
    const store = new SqliteMailRepositoryStore(db);
    for (let i = 0; i < 2_500; i++) await store.store('var/mail/error/', `k${i}`, mail(blobId()));
    const source = new SqliteBlobReferences(db);
    let seen = 0;
    for await (const batch of source.references()) {
      seen += batch.length;
      // The node keeps writing on its own connection meanwhile.
      await store.store('var/mail/error/', `late-${seen}`, mail(blobId()));
    }
    expect(seen).toBe(2_500);
  });

  it('refuses to scan when a stored mail is not JSON (its references cannot be read)', async () => {
    db.prepare('INSERT INTO mail_repository (repository, key, mail, stored_at) VALUES (?, ?, ?, ?)').run('var/mail/error/', 'k', '{not json', Date.now());
    await expect(collect(new SqliteBlobReferences(db))).rejects.toThrow(/mail_repository\.mail holds a document that is not JSON/);
  });

  it('refuses a schema without any blob id column rather than report "nothing referenced"', async () => {
    const other = new Database(path.join(dir, 'other.db'));
    try {
      other.exec('CREATE TABLE unrelated (a TEXT)');
      await expect(collect(new SqliteBlobReferences(other))).rejects.toBeInstanceOf(PermanentError);
    } finally {
      other.close();
    }
  });
});

describe('CassandraBlobReferences', () => {
  const keyspace = useCassandraKeyspace();

  beforeEach(async () => {
    await keyspace.session.truncate(MAIL_REPOSITORY_TABLES);
  });

  it('reads the message table and the mails of the mail repositories', async () => {
    const source = new CassandraBlobReferences(keyspace.session);
    expect(await source.columns()).toEqual(expect.arrayContaining([
      { table: 'message', column: 'blob_id', kind: 'ids' },
      { table: 'mail_repository_mail', column: 'mail', kind: 'json' },
    ]));
    const inRepository = blobId();
    await new CassandraMailRepositoryStore(keyspace.session).store('var/mail/error/', 'k1', mail(inRepository));
    expect(await collect(source)).toContain(inRepository);
  });

  it('finds blob ids in tables the mailbox schema adds later (text, set<text>, list<text>)', async () => {
    await keyspace.session.client.execute(
      `CREATE TABLE IF NOT EXISTS ${keyspace.session.keyspace}.attachments_probe (message_id text PRIMARY KEY, header_blob_id text, part_blob_ids set<text>, thumbnail_blob_ids list<text>, note text)`,
    );
    const header = blobId();
    const parts = [blobId(), blobId()];
    const thumbnails = [blobId()];
    await keyspace.session.execute(`INSERT INTO ${keyspace.session.keyspace}.attachments_probe (message_id, header_blob_id, part_blob_ids, thumbnail_blob_ids, note) VALUES (?, ?, ?, ?, ?)`, [
      'm1',
      header,
      parts,
      thumbnails,
      'not a reference',
    ]);
    const ids = await collect(new CassandraBlobReferences(keyspace.session));
    expect(ids).toEqual(expect.arrayContaining([header, ...parts, ...thumbnails]));
    expect(ids).not.toContain('not a reference');
  });

  it('pages through a table larger than one page', async () => {
    const store = new CassandraMailRepositoryStore(keyspace.session);
    const stored = Array.from({ length: 1_200 }, () => blobId());
    await Promise.all(stored.map((id, i) => store.store('var/mail/error/', `k${i}`, mail(id))));
    const ids = new Set(await collect(new CassandraBlobReferences(keyspace.session)));
    expect(stored.every((id) => ids.has(id))).toBe(true);
  }, 60_000);

  it('refuses to scan when a stored mail is not JSON', async () => {
    await keyspace.session.execute(`INSERT INTO ${keyspace.session.table('mail_repository_mail')} (repository, key, mail, stored_at) VALUES (?, ?, ?, ?)`, ['var/mail/error/', 'k', '{not json', new Date()]);
    await expect(collect(new CassandraBlobReferences(keyspace.session))).rejects.toThrow(/not JSON/);
  });
});
