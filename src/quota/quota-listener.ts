import type { Logger } from 'pino';
import type { GroupListener, MailboxEvent } from '../events/api/event-bus';
import type { QuotaService } from './quota-service';
import type { QuotaThresholdNotifier } from './thresholds';

/** Group of the usage listener (names its durable queue). */
export const QUOTA_LISTENER_GROUP = 'quota-current-usage';

/**
 * Keeps the current usage of each user (James' ListeningCurrentQuotaUpdater), then checks the
 * warning thresholds.
 *
 * Idempotence: the events tell which user changed, but the usage written is recomputed from the
 * user's mailbox counters, never incremented by the event's sizes. A replayed or reordered event
 * therefore writes the same right value, where a counter increment would count twice (and an
 * Expunged event does not carry the sizes of its messages). The cost is one listing of the
 * user's mailboxes per event; events of one user are handled one at a time on a node, and
 * `QuotaService.recompute` re-checks after writing, so concurrent writers on several nodes
 * converge on the current value.
 */
export class QuotaListener implements GroupListener {
  readonly group = QUOTA_LISTENER_GROUP;
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly quota: QuotaService,
    private readonly thresholds: QuotaThresholdNotifier | null,
    private readonly logger: Logger,
  ) {}

  async handle(event: MailboxEvent): Promise<void> {
    if (event.type !== 'Added' && event.type !== 'Expunged' && event.type !== 'MailboxDeleted') return;
    await this.serialized(event.user, () => this.update(event.user));
  }

  private async update(user: string): Promise<void> {
    const usage = await this.quota.recompute(user);
    if (!this.thresholds) return;
    const { computed } = await this.quota.details(user);
    const crossing = await this.thresholds.onUsage(user, computed, usage);
    if (crossing) this.logger.info({ user, crossing: crossing.payload }, 'quota threshold warning sent');
  }

  /** Runs `task` after the tasks already running for `user` on this node. */
  private async serialized(user: string, task: () => Promise<void>): Promise<void> {
    const previous = this.running.get(user) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(task);
    this.running.set(user, current);
    try {
      await current;
    } finally {
      if (this.running.get(user) === current) this.running.delete(user);
    }
  }
}
