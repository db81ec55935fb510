import type { Logger } from 'pino';
import { quotaRootOf, type QuotaService } from '../src/quota/quota-service';

export interface QuotaActivityDeps {
  quota: QuotaService;
  /** Every user name, sorted. */
  listUsers(): Promise<string[]>;
  logger: Logger;
}

/** Steps of the quota recomputation task; idempotent (a recomputation writes absolute values). */
export function createQuotaActivities(deps: QuotaActivityDeps) {
  return {
    async quotaUsersPage(after: string | null, limit: number): Promise<string[]> {
      const users = await deps.listUsers();
      const start = after === null ? 0 : users.findIndex((u) => u > after);
      return start === -1 ? [] : users.slice(start, start + limit);
    },

    async recomputeQuotas(users: string[]): Promise<{ processed: number; failedQuotaRoots: string[] }> {
      const failedQuotaRoots: string[] = [];
      let processed = 0;
      for (const user of users) {
        try {
          await deps.quota.recompute(user);
          processed++;
        } catch (err) {
          deps.logger.warn({ err, user }, 'quota recomputation failed');
          failedQuotaRoots.push(quotaRootOf(user));
        }
      }
      return { processed, failedQuotaRoots };
    },
  };
}

export type QuotaActivities = ReturnType<typeof createQuotaActivities>;
