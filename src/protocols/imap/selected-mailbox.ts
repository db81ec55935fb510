import type { MailboxEvent } from '../../events/api/event-bus';
import type { Mailbox, UidRange } from '../../mailbox/api/mailbox-store';
import { ImapBadError } from './errors';
import { resolveSequenceSet, type SequenceRange } from './sequence-set';

/** Changes found by `SelectedMailbox.update`, in the order they must be reported. */
export interface MailboxChanges {
  /** Sequence numbers for `* n EXPUNGE`, each valid after the previous ones were applied. */
  expunged: number[];
  /** The UIDs of those messages, ascending (for `* VANISHED` under QRESYNC). */
  expungedUids: number[];
  /** New message count for `* n EXISTS`, or null when no message was added. */
  exists: number | null;
}

/**
 * The session's view of the selected mailbox: the UIDs it announced, in ascending order, so
 * message sequence numbers map to UIDs (sequence number n is `uids[n - 1]`). Messages appended
 * since are invisible until announced with EXISTS.
 */
export class SelectedMailbox {
  /** UIDs whose flags another session (or this one) changed since they were last reported. */
  private readonly flagChanges = new Set<number>();
  /** Messages were added or removed since the last report (the UID list must be re-read). */
  private membershipChanged = false;
  private wakeUp: (() => void) | null = null;

  constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    private uids: number[],
  ) {}

  get exists(): number {
    return this.uids.length;
  }

  get highestUid(): number {
    return this.uids.length === 0 ? 0 : this.uids[this.uids.length - 1];
  }

  /** The sequence number of a UID in this view, or null when it is not part of it. */
  sequenceOf(uid: number): number | null {
    let low = 0;
    let high = this.uids.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.uids[mid];
      if (value === uid) return mid + 1;
      if (value < uid) low = mid + 1;
      else high = mid - 1;
    }
    return null;
  }

  /**
   * UID ranges covering a message sequence set. Numbers beyond EXISTS are a client error
   * (RFC 3501 §6.4.8: "a tagged BAD").
   */
  uidRangesForSequenceSet(set: readonly SequenceRange[]): UidRange[] {
    const ranges = resolveSequenceSet(set, this.exists);
    if (ranges.some((range) => range.from < 1 || range.to > this.exists)) {
      throw new ImapBadError(this.exists === 0 ? 'No messages in the mailbox' : `Message sequence number beyond ${this.exists}`, 'CLIENTBUG');
    }
    return ranges.map((range) => ({ from: this.uids[range.from - 1], to: this.uids[range.to - 1] }));
  }

  /**
   * UID ranges covering a UID set, clamped to the view. `*` is the highest UID, so `n:*` with n
   * above it still yields the last message (RFC 3501 §6.4.8); an empty view yields nothing.
   */
  uidRangesForUidSet(set: readonly SequenceRange[]): UidRange[] {
    if (this.uids.length === 0) return [];
    const lowest = this.uids[0];
    const highest = this.highestUid;
    return resolveSequenceSet(set, highest)
      .map((range) => ({ from: Math.max(range.from, lowest), to: Math.min(range.to, highest) }))
      .filter((range) => range.from <= range.to);
  }

  /** Records a mailbox event of this mailbox (from the event bus key listener) and wakes an IDLE. */
  notify(event: MailboxEvent): void {
    if (event.mailboxId !== this.mailbox.id) return;
    if (event.type === 'FlagsUpdated') for (const uid of event.uids) this.flagChanges.add(uid);
    else this.membershipChanged = true;
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
  }

  /** True when events arrived that were not reported yet. */
  get hasPendingChanges(): boolean {
    return this.membershipChanged || this.flagChanges.size > 0;
  }

  /** Resolves at the next event (at once when some are pending). */
  changed(): Promise<void> {
    if (this.hasPendingChanges) return Promise.resolve();
    return new Promise((resolve) => (this.wakeUp = resolve));
  }

  /** Takes the UIDs whose flags changed, ascending, restricted to the announced ones. */
  takeFlagChanges(): number[] {
    this.membershipChanged = false;
    const uids = [...this.flagChanges].filter((uid) => this.sequenceOf(uid) !== null).sort((a, b) => a - b);
    this.flagChanges.clear();
    return uids;
  }

  /** The UIDs this session announced, ascending (read-only view). */
  get announcedUids(): readonly number[] {
    return this.uids;
  }

  /**
   * Removes expunged UIDs from the view; returns the sequence numbers to report with
   * `* n EXPUNGE`, each valid after the previous ones were applied (highest first).
   */
  removeUids(expunged: readonly number[]): number[] {
    const gone = new Set(expunged);
    const sequences: number[] = [];
    for (let i = this.uids.length - 1; i >= 0; i--) if (gone.has(this.uids[i])) sequences.push(i + 1);
    if (sequences.length > 0) this.uids = this.uids.filter((uid) => !gone.has(uid));
    return sequences;
  }

  /** Forgets pending flag changes of these UIDs (this session reported them itself). */
  forgetFlagChanges(uids: readonly number[]): void {
    for (const uid of uids) this.flagChanges.delete(uid);
  }

  /** Replaces the view by the mailbox's current UIDs and returns what to report. */
  update(current: number[]): MailboxChanges {
    const present = new Set(current);
    const expunged: number[] = [];
    const expungedUids: number[] = [];
    // Highest first: each reported number stays valid because only later messages shift.
    for (let i = this.uids.length - 1; i >= 0; i--) {
      if (!present.has(this.uids[i])) {
        expunged.push(i + 1);
        expungedUids.unshift(this.uids[i]);
      }
    }
    const previous = new Set(this.uids);
    const added = current.some((uid) => !previous.has(uid));
    this.uids = current;
    return { expunged, expungedUids, exists: added ? current.length : null };
  }
}
