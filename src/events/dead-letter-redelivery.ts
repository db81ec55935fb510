import type { Logger } from 'pino';
import { errorMessage } from '../core/errors';
import type { EventBus } from './api/event-bus';
import type { EventDeadLetters } from './api/event-dead-letters';
import { deserializeEvent } from './event-json';

/** What to redeliver: every dead letter, those of one group, or one. */
export type RedeliveryScope = { group?: undefined } | { group: string; insertionId?: string };

/** Outcome of a redelivery (the additional information of James' redelivery tasks). */
export interface RedeliveryResult {
  successfulRedeliveriesCount: number;
  failedRedeliveriesCount: number;
  group: string | null;
  insertionId: string | null;
}

/**
 * Hands dead letters back to their group (James' `EventDeadLettersRedeliverService`): each one
 * is published to its group again, then removed. One that cannot be read or published stays
 * (and is counted as failed); one that fails again later comes back under a new insertion id.
 */
export async function redeliverDeadLetters(
  deps: { bus: EventBus; deadLetters: EventDeadLetters; logger: Logger },
  scope: RedeliveryScope,
  onProgress: (result: RedeliveryResult) => void = () => undefined,
): Promise<RedeliveryResult> {
  const result: RedeliveryResult = { successfulRedeliveriesCount: 0, failedRedeliveriesCount: 0, group: scope.group ?? null, insertionId: (scope.group && scope.insertionId) || null };
  const groups = scope.group === undefined ? await deps.deadLetters.listGroups() : [scope.group];
  for (const group of groups) {
    const ids = scope.group !== undefined && scope.insertionId ? [scope.insertionId] : await deps.deadLetters.listInsertionIds(group);
    for (const insertionId of ids) {
      try {
        const text = await deps.deadLetters.get(group, insertionId);
        if (text === null) continue;
        await deps.bus.reDeliver(group, deserializeEvent(text));
        await deps.deadLetters.remove(group, insertionId);
        result.successfulRedeliveriesCount++;
      } catch (err) {
        deps.logger.warn({ group, insertionId, err: errorMessage(err) }, 'cannot redeliver a dead letter: it stays');
        result.failedRedeliveriesCount++;
      }
      onProgress(result);
    }
  }
  return result;
}
