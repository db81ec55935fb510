import type { EventStore, StoredEvent } from '../eventsourcing/api/event-store';
import { EventStoreConflictError } from '../eventsourcing/api/event-store';
import type { QuotaLimits, QuotaUsage } from './api/quota';
import { occupationOf } from './quota-service';

/** Event types of the threshold aggregate (James' QuotaThresholdChangedEvent and the sent warning). */
export const THRESHOLDS_CHANGED = 'QuotaThresholdChanged';
export const WARNING_SENT = 'QuotaWarningSent';
/** Concurrent writers of one user's aggregate retry this many times before the event is retried by the bus. */
export const MAX_APPEND_ATTEMPTS = 5;

export interface ThresholdSettings {
  /** Occupation ratios (0 < r ≤ 1), ascending, e.g. [0.8, 0.95]. Empty: no warning. */
  thresholds: number[];
  subject: string;
  /** Body template: `{{user}}`, `{{countThreshold}}`, `{{sizeThreshold}}`, `{{countUsed}}`, `{{countLimit}}`, `{{sizeUsed}}`, `{{sizeLimit}}`. */
  body: string;
  /** Sender of the warnings (the postmaster). */
  from: string;
}

/** Hands a warning mail to the mail path; `mailId` is derived from the crossing, so a retry sends it once. */
export interface WarningSender {
  send(mail: { mailId: string; recipient: string; message: Buffer }): Promise<void>;
}

/** The state folded from a user's history: the threshold reached per resource (0: below all). */
export interface ThresholdState {
  count: number;
  size: number;
  nextEventId: number;
  /** A crossing whose warning is not recorded as sent yet. */
  pending: StoredEvent | null;
}

export function aggregateIdOf(user: string): string {
  return `quota-thresholds/${user}`;
}

export function foldThresholds(history: readonly StoredEvent[]): ThresholdState {
  const state: ThresholdState = { count: 0, size: 0, nextEventId: 0, pending: null };
  for (const event of history) {
    state.nextEventId = event.eventId + 1;
    const payload = (event.payload ?? {}) as Record<string, unknown>;
    if (event.type === THRESHOLDS_CHANGED) {
      state.count = Number(payload.count ?? 0);
      state.size = Number(payload.size ?? 0);
      state.pending = payload.notify === true ? event : null;
    } else if (event.type === WARNING_SENT && state.pending && payload.crossing === state.pending.eventId) {
      state.pending = null;
    }
  }
  return state;
}

/** The highest threshold at or under `ratio`, or 0. */
export function thresholdReached(thresholds: readonly number[], ratio: number): number {
  let reached = 0;
  for (const t of thresholds) if (ratio >= t && t > reached) reached = t;
  return reached;
}

/**
 * James' QuotaThresholdCrossingListener: on every usage change, the threshold each resource
 * reached is compared with the last one stored in the user's event-sourced history. Only a change
 * is appended; a rise sends one warning mail to the user. The warning is recorded as sent after
 * the hand-over, and a crossing found unsent (a crash in between) is sent again with the same mail
 * id, which the mail queue takes once: a restart or a replayed event never sends a second mail.
 */
export class QuotaThresholdNotifier {
  constructor(
    private readonly events: EventStore,
    private readonly sender: WarningSender,
    private readonly settings: ThresholdSettings,
  ) {}

  /** Returns the crossing that was notified, if any. */
  async onUsage(user: string, limits: QuotaLimits, usage: QuotaUsage): Promise<StoredEvent | null> {
    if (this.settings.thresholds.length === 0) return null;
    const { ratio } = occupationOf(limits, usage);
    const target = { count: thresholdReached(this.settings.thresholds, ratio.count), size: thresholdReached(this.settings.thresholds, ratio.size) };
    const aggregateId = aggregateIdOf(user);
    let notified: StoredEvent | null = null;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const state = foldThresholds(await this.events.getHistory(aggregateId));
      try {
        if (state.pending) {
          await this.sendWarning(user, state.pending);
          await this.events.append([{ aggregateId, eventId: state.nextEventId, type: WARNING_SENT, payload: { crossing: state.pending.eventId } }]);
          notified = state.pending;
          continue;
        }
        if (target.count === state.count && target.size === state.size) return notified;
        const crossing: StoredEvent = {
          aggregateId,
          eventId: state.nextEventId,
          type: THRESHOLDS_CHANGED,
          payload: {
            count: target.count,
            size: target.size,
            notify: target.count > state.count || target.size > state.size,
            usage: { count: usage.count, size: usage.size },
            limits: { count: limits.count ?? null, size: limits.size ?? null },
            at: new Date().toISOString(),
          },
        };
        await this.events.append([crossing]);
      } catch (err) {
        if (err instanceof EventStoreConflictError) continue;
        throw err;
      }
    }
    throw new EventStoreConflictError(`The quota thresholds of ${user} kept changing under ${MAX_APPEND_ATTEMPTS} attempts`);
  }

  private async sendWarning(user: string, crossing: StoredEvent): Promise<void> {
    const payload = crossing.payload as unknown as { count: number; size: number; usage: QuotaUsage; limits: { count: number | null; size: number | null } };
    const values: Record<string, string> = {
      user,
      countThreshold: percent(payload.count),
      sizeThreshold: percent(payload.size),
      countUsed: String(payload.usage.count),
      countLimit: payload.limits.count === null ? 'unlimited' : String(payload.limits.count),
      sizeUsed: String(payload.usage.size),
      sizeLimit: payload.limits.size === null ? 'unlimited' : String(payload.limits.size),
    };
    const fill = (template: string) => template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
    const message = Buffer.from(
      [
        `From: ${this.settings.from}`,
        `To: ${user}`,
        `Subject: ${fill(this.settings.subject).replace(/[\r\n]+/g, ' ')}`,
        `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
        `Message-ID: <quota-${crossing.eventId}-${hashOf(user)}@postflow>`,
        'Auto-Submitted: auto-generated',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        fill(this.settings.body).replace(/\r?\n/g, '\r\n'),
        '',
      ].join('\r\n'),
    );
    // The crossing's time is part of the id: stable across retries of this crossing, distinct from a
    // crossing of a same-named aggregate in another history (a user deleted and created again).
    await this.sender.send({ mailId: `${crossing.aggregateId}#${crossing.eventId}@${String((crossing.payload as { at?: string }).at ?? '')}`, recipient: user, message });
  }
}

function percent(ratio: number): string {
  return ratio > 0 ? `${Math.round(ratio * 100)}%` : 'none';
}

function hashOf(value: string): string {
  let h = 0;
  for (let i = 0; i < value.length; i++) h = (h * 31 + value.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16);
}
