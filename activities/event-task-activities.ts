import type { Logger } from 'pino';
import type { EventBus } from '../src/events/api/event-bus';
import type { EventDeadLetters } from '../src/events/api/event-dead-letters';
import { redeliverDeadLetters } from '../src/events/dead-letter-redelivery';

/** Steps of the event dead-letter redelivery tasks (James `event-dead-letters-redeliver-*`). */
export function createEventTaskActivities(deps: { bus: EventBus; deadLetters: EventDeadLetters; logger: Logger }) {
  return {
    async listDeadLetterGroups(): Promise<string[]> {
      return deps.deadLetters.listGroups();
    },

    async listDeadLetterIds(group: string): Promise<string[]> {
      return deps.deadLetters.listInsertionIds(group);
    },

    /**
     * Redelivers these dead letters of one group. Idempotent enough to retry: a letter already
     * redelivered was removed, so a retried page skips it (get answers null).
     */
    async redeliverDeadLetterPage(group: string, insertionIds: string[]): Promise<{ successful: number; failed: number }> {
      let successful = 0;
      let failed = 0;
      for (const insertionId of insertionIds) {
        const result = await redeliverDeadLetters(deps, { group, insertionId });
        successful += result.successfulRedeliveriesCount;
        failed += result.failedRedeliveriesCount;
      }
      return { successful, failed };
    },
  };
}

export type EventTaskActivities = ReturnType<typeof createEventTaskActivities>;
