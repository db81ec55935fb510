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
 * Expunged event does not carry the sizes of its messages). The cost is one sum over the
 * user's mailbox counters per read; events of one user are handled one at a time on a node (those
 * arriving meanwhile share the next recompute), and `QuotaService.recompute` re-checks after
 * writing, so concurrent writers on several nodes converge on the current value. A recompute that
 * sees the mailboxes change again hands over to the next one when an event already queued it.
 */
export class QuotaListener implements GroupListener {
  readonly group = QUOTA_LISTENER_GROUP;
  /** Per user: the recompute running, and the one waiting to start (shared by the events meanwhile). */
  private readonly users = new Map<string, { running?: Promise<void>; waiting?: Promise<void> }>();

  constructor(
    private readonly quota: QuotaService,
    private readonly thresholds: QuotaThresholdNotifier | null,
    private readonly logger: Logger,
  ) {}

  async handle(event: MailboxEvent): Promise<void> {
    if (event.type !== 'Added' && event.type !== 'Expunged' && event.type !== 'MailboxDeleted') return;
    await this.coalesced(event.user, () => this.update(event.user));
  }

  private async update(user: string): Promise<void> {
    // An event that arrived meanwhile queued the next recompute of this user: it takes over.
    const usage = await this.quota.recompute(user, { handedOver: () => this.users.get(user)?.waiting !== undefined });
    if (!this.thresholds) return;
    const { computed } = await this.quota.details(user);
    const crossing = await this.thresholds.onUsage(user, computed, usage);
    if (crossing) this.logger.info({ user, crossing: crossing.payload }, 'quota threshold warning sent');
  }

  /**
   * Runs `task` for `user` after the one running (one at a time per user on a node). Events that
   * arrive while a task waits to start share it: it reads the mailboxes after they all arrived,
   * so each event still gets a recompute that started after it (a burst of N events of one user
   * costs two recomputes, not N).
   */
  private coalesced(user: string, task: () => Promise<void>): Promise<void> {
    let state = this.users.get(user);
    if (!state) {
      state = {};
      this.users.set(user, state);
    }
    if (state.waiting) return state.waiting;
    const own = state;
    const previous = own.running ?? Promise.resolve();
    const run: Promise<void> = previous
      .catch(() => undefined)
      .then(() => {
        own.waiting = undefined;
        own.running = run;
        return task();
      })
      .finally(() => {
        if (own.running === run) own.running = undefined;
        if (!own.running && !own.waiting && this.users.get(user) === own) this.users.delete(user);
      });
    own.waiting = run;
    return run;
  }
}
