import type Database from 'better-sqlite3';
import { GroupCommit } from './group-commit';
import { BoundedCache } from '../../core/bounded-cache';
import type { QuotaLimits, QuotaResource, QuotaScope, QuotaStore, QuotaUsage, UserQuota } from '../../quota/api/quota';

type LimitRow = { scope: QuotaScope; resource: QuotaResource; value: number };

/**
 * QuotaStore over SQLite: plain rows. Usage writes (one per mailbox event, from the usage
 * listener) are group-committed: their cost was the commit's fsync, not the statement. The limits
 * that apply to a user (read for every copy delivered) are kept until a limit is written.
 */
export class SqliteQuotaStore implements QuotaStore {
  private readonly s;
  private readonly commits: GroupCommit;
  /** The limit rows of every scope that apply to a user, per domain and user. */
  private readonly userLimits = new BoundedCache<readonly LimitRow[]>();

  constructor(db: Database.Database) {
    this.commits = new GroupCommit(db);
    this.s = {
      limits: db.prepare('SELECT resource, value FROM quota_limits WHERE scope = ? AND key = ?'),
      userLimits: db.prepare("SELECT scope, resource, value FROM quota_limits WHERE (scope = 'global' AND key = '') OR (scope = 'domain' AND key = ?) OR (scope = 'user' AND key = ?)"),
      setLimit: db.prepare('INSERT INTO quota_limits (scope, key, resource, value) VALUES (?, ?, ?, ?) ON CONFLICT (scope, key, resource) DO UPDATE SET value = excluded.value'),
      deleteLimit: db.prepare('DELETE FROM quota_limits WHERE scope = ? AND key = ? AND resource = ?'),
      usage: db.prepare('SELECT count, size FROM quota_usage WHERE user = ?'),
      setUsage: db.prepare('INSERT INTO quota_usage (user, count, size) VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET count = excluded.count, size = excluded.size'),
    };
  }

  async getLimits(scope: QuotaScope, key: string): Promise<QuotaLimits> {
    const limits: QuotaLimits = {};
    for (const row of this.s.limits.all(scope, key) as { resource: QuotaResource; value: number }[]) limits[row.resource] = Number(row.value);
    return limits;
  }

  async setLimit(scope: QuotaScope, key: string, resource: QuotaResource, value: number | null): Promise<void> {
    if (value === null) this.s.deleteLimit.run(scope, key, resource);
    else this.s.setLimit.run(scope, key, resource, value);
    this.userLimits.clear();
  }

  async getUserQuota(user: string, domain: string | null): Promise<UserQuota> {
    const quota: UserQuota = { global: {}, domain: {}, user: {}, usage: this.usageOf(user) };
    // A null domain matches no row: a user without a domain has no domain limits.
    const rows = this.userLimits.get(`${domain ?? '\u0000'}\u0000${user}`, () => this.s.userLimits.all(domain, user) as LimitRow[]);
    for (const row of rows) quota[row.scope][row.resource] = Number(row.value);
    return quota;
  }

  async getUsage(user: string): Promise<QuotaUsage> {
    return this.usageOf(user);
  }

  private usageOf(user: string): QuotaUsage {
    const row = this.s.usage.get(user) as { count: number; size: number } | undefined;
    return row ? { count: Number(row.count), size: Number(row.size) } : { count: 0, size: 0 };
  }

  async setUsage(user: string, usage: QuotaUsage): Promise<void> {
    const statement = this.s.setUsage;
    await this.commits.run(() => statement.run(user, usage.count, usage.size));
  }
}
