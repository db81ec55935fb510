import type { QuotaLimits, QuotaResource, QuotaScope, QuotaStore, QuotaUsage, UserQuota } from '../../quota/api/quota';
import type { CassandraSession } from './cassandra-session';

/** QuotaStore over Cassandra (see schema/quota.ts). */
export class CassandraQuotaStore implements QuotaStore {
  private readonly q;

  constructor(private readonly session: CassandraSession) {
    const limits = session.table('quota_limits');
    const usage = session.table('quota_usage');
    this.q = {
      limits: `SELECT resource, value FROM ${limits} WHERE scope = ? AND key = ?`,
      setLimit: `INSERT INTO ${limits} (scope, key, resource, value) VALUES (?, ?, ?, ?)`,
      deleteLimit: `DELETE FROM ${limits} WHERE scope = ? AND key = ? AND resource = ?`,
      usage: `SELECT count, size FROM ${usage} WHERE user = ?`,
      setUsage: `INSERT INTO ${usage} (user, count, size) VALUES (?, ?, ?)`,
    };
  }

  async getLimits(scope: QuotaScope, key: string): Promise<QuotaLimits> {
    const limits: QuotaLimits = {};
    for (const row of (await this.session.execute(this.q.limits, [scope, key])).rows) limits[row.get('resource') as QuotaResource] = Number(row.get('value'));
    return limits;
  }

  async setLimit(scope: QuotaScope, key: string, resource: QuotaResource, value: number | null): Promise<void> {
    if (value === null) await this.session.execute(this.q.deleteLimit, [scope, key, resource]);
    else await this.session.execute(this.q.setLimit, [scope, key, resource, value]);
  }

  async getUserQuota(user: string, domain: string | null): Promise<UserQuota> {
    const [global, domainLimits, userLimits, usage] = await Promise.all([
      this.getLimits('global', ''),
      domain ? this.getLimits('domain', domain) : Promise.resolve<QuotaLimits>({}),
      this.getLimits('user', user),
      this.getUsage(user),
    ]);
    return { global, domain: domainLimits, user: userLimits, usage };
  }

  async getUsage(user: string): Promise<QuotaUsage> {
    const row = (await this.session.execute(this.q.usage, [user])).first();
    return row ? { count: Number(row.get('count') ?? 0), size: Number(row.get('size') ?? 0) } : { count: 0, size: 0 };
  }

  async setUsage(user: string, usage: QuotaUsage): Promise<void> {
    await this.session.execute(this.q.setUsage, [user, usage.count, usage.size]);
  }
}
