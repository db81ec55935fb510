import type { MailReference } from '../../core/mail';
import type { KeyPage, MailRepositoryStore, StoredMail } from '../../mailrepository/api/mail-repository-store';
import type { CassandraSession } from './cassandra-session';
import { compareBinary } from './sort';

/** Rows per page while listing keys or repositories. */
const PAGE_SIZE = 1_000;

/**
 * MailRepositoryStore over Cassandra (James' layout): `mail_repository_keys` lists and counts a
 * repository in one partition; `mail_repository_mail` holds each mail in its own partition.
 */
export class CassandraMailRepositoryStore implements MailRepositoryStore {
  private readonly keys: string;
  private readonly mails: string;

  constructor(private readonly session: CassandraSession) {
    this.keys = session.table('mail_repository_keys');
    this.mails = session.table('mail_repository_mail');
  }

  async store(repository: string, key: string, mail: MailReference): Promise<void> {
    // The mail before its key: a listed key always has its mail.
    await this.session.execute(`INSERT INTO ${this.mails} (repository, key, mail, stored_at) VALUES (?, ?, ?, ?)`, [repository, key, JSON.stringify(mail), new Date()], {
      isIdempotent: true,
    });
    await this.session.execute(`INSERT INTO ${this.keys} (repository, key) VALUES (?, ?)`, [repository, key], { isIdempotent: true });
  }

  async get(repository: string, key: string): Promise<StoredMail | null> {
    const row = (await this.session.execute(`SELECT mail, stored_at FROM ${this.mails} WHERE repository = ? AND key = ?`, [repository, key])).first();
    return row ? { key, mail: JSON.parse(row.get('mail') as string) as MailReference, storedAt: row.get('stored_at') as Date } : null;
  }

  /** Keys in clustering order (ascending); offsets are skipped while paging (James does the same). */
  async listKeys(repository: string, page: KeyPage = {}): Promise<string[]> {
    const keys: string[] = [];
    const offset = page.offset ?? 0;
    const limit = page.limit ?? Number.POSITIVE_INFINITY;
    let seen = 0;
    const rows =
      page.after === undefined
        ? this.session.rows(`SELECT key FROM ${this.keys} WHERE repository = ?`, [repository], PAGE_SIZE)
        : this.session.rows(`SELECT key FROM ${this.keys} WHERE repository = ? AND key > ?`, [repository, page.after], PAGE_SIZE);
    for await (const row of rows) {
      if (seen++ < offset) continue;
      if (keys.length >= limit) break;
      keys.push(row.get('key') as string);
    }
    return keys;
  }

  async size(repository: string): Promise<number> {
    const row = (await this.session.execute(`SELECT COUNT(*) AS n FROM ${this.keys} WHERE repository = ?`, [repository])).first();
    return Number(row.get('n'));
  }

  async remove(repository: string, key: string): Promise<void> {
    await this.session.execute(`DELETE FROM ${this.keys} WHERE repository = ? AND key = ?`, [repository, key]);
    await this.session.execute(`DELETE FROM ${this.mails} WHERE repository = ? AND key = ?`, [repository, key]);
  }

  /** Repositories holding at least one mail (a partition whose rows were all removed is not listed). */
  async listRepositories(): Promise<string[]> {
    const names: string[] = [];
    for await (const row of this.session.rows(`SELECT repository FROM ${this.keys} PER PARTITION LIMIT 1`, [], PAGE_SIZE)) {
      names.push(row.get('repository') as string);
    }
    return names.sort(compareBinary);
  }
}
