import type { MailboxEvent } from '../../events/api/event-bus';
import type { Mailbox, UidRange } from '../../mailbox/api/mailbox-store';
import { ImapBadError } from './errors';
import { resolveSequenceSet, type MessageSet, type SequenceRange } from './sequence-set';

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
 * Ascending UIDs held as runs of consecutive values: a mailbox's UIDs are mostly contiguous (gaps
 * only where messages were expunged), so an idle session on a 10,000-message mailbox holds a few
 * runs instead of 10,000 numbers (10,000 idle connections must fit in 500 MB).
 */
export class UidList {
  /** First UID of each run, its last UID, and how many UIDs come before it. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly before: number[] = [];
  readonly length: number;

  constructor(sorted: readonly number[]) {
    for (const uid of sorted) {
      const last = this.ends.length - 1;
      if (last >= 0 && uid === this.ends[last] + 1) {
        this.ends[last] = uid;
      } else {
        this.before.push(last < 0 ? 0 : this.before[last] + this.ends[last] - this.starts[last] + 1);
        this.starts.push(uid);
        this.ends.push(uid);
      }
    }
    const last = this.ends.length - 1;
    this.length = last < 0 ? 0 : this.before[last] + this.ends[last] - this.starts[last] + 1;
  }

  /** The UID at a 0-based position (sequence number - 1). */
  at(index: number): number {
    let low = 0;
    let high = this.before.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.before[mid] <= index) low = mid;
      else high = mid - 1;
    }
    return this.starts[low] + index - this.before[low];
  }

  /** The 0-based position of a UID, or -1. */
  indexOf(uid: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (uid < this.starts[mid]) high = mid - 1;
      else if (uid > this.ends[mid]) low = mid + 1;
      else return this.before[mid] + uid - this.starts[mid];
    }
    return -1;
  }

  /** Number of runs (what the list costs in memory). */
  get runs(): number {
    return this.starts.length;
  }

  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.starts.length; i++) for (let uid = this.starts[i]; uid <= this.ends[i]; uid++) out.push(uid);
    return out;
  }
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

  private uids: UidList;

  constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    uids: readonly number[],
  ) {
    this.uids = new UidList(uids);
  }

  get exists(): number {
    return this.uids.length;
  }

  get highestUid(): number {
    return this.uids.length === 0 ? 0 : this.uids.at(this.uids.length - 1);
  }

  /** The sequence number of a UID in this view, or null when it is not part of it. */
  sequenceOf(uid: number): number | null {
    const index = this.uids.indexOf(uid);
    return index === -1 ? null : index + 1;
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
    return ranges.map((range) => ({ from: this.uids.at(range.from - 1), to: this.uids.at(range.to - 1) }));
  }

  /**
   * UID ranges covering a UID set, clamped to the view. `*` is the highest UID, so `n:*` with n
   * above it still yields the last message (RFC 3501 §6.4.8); an empty view yields nothing.
   */
  uidRangesForUidSet(set: readonly SequenceRange[]): UidRange[] {
    if (this.uids.length === 0) return [];
    const lowest = this.uids.at(0);
    const highest = this.highestUid;
    return resolveSequenceSet(set, highest)
      .map((range) => ({ from: Math.max(range.from, lowest), to: Math.min(range.to, highest) }))
      .filter((range) => range.from <= range.to);
  }

  /** RFC 5182 SEARCHRES: the UIDs the last SEARCH RETURN (SAVE) saved (ascending); `$` refers to them. */
  savedUids: readonly number[] = [];

  /**
   * UID ranges of a message set argument: `$` (the saved result, less the messages expunged
   * since, RFC 5182 §2.1), else a UID set or a sequence set.
   */
  uidRangesFor(set: MessageSet, byUid: boolean): UidRange[] {
    if (set !== '$') return byUid ? this.uidRangesForUidSet(set) : this.uidRangesForSequenceSet(set);
    const ranges: UidRange[] = [];
    for (const uid of this.savedUids) {
      if (this.sequenceOf(uid) === null) continue;
      const last = ranges[ranges.length - 1];
      if (last && last.to === uid - 1) last.to = uid;
      else ranges.push({ from: uid, to: uid });
    }
    return ranges;
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

  /** The UIDs this session announced, ascending (a new array each time: the view keeps runs). */
  get announcedUids(): readonly number[] {
    return this.uids.toArray();
  }

  /**
   * Removes expunged UIDs from the view; returns the sequence numbers to report with
   * `* n EXPUNGE`, each valid after the previous ones were applied (highest first).
   */
  removeUids(expunged: readonly number[]): number[] {
    const sequences = expunged
      .map((uid) => this.uids.indexOf(uid))
      .filter((index) => index !== -1)
      .map((index) => index + 1);
    sequences.sort((a, b) => b - a);
    if (sequences.length > 0) {
      const gone = new Set(expunged);
      this.uids = new UidList(this.uids.toArray().filter((uid) => !gone.has(uid)));
    }
    return [...new Set(sequences)];
  }

  /** Forgets pending flag changes of these UIDs (this session reported them itself). */
  forgetFlagChanges(uids: readonly number[]): void {
    for (const uid of uids) this.flagChanges.delete(uid);
  }

  /** Replaces the view by the mailbox's current UIDs and returns what to report. */
  update(current: readonly number[]): MailboxChanges {
    const next = new UidList(current);
    const expunged: number[] = [];
    const expungedUids: number[] = [];
    // Highest first: each reported number stays valid because only later messages shift.
    for (let i = this.uids.length - 1; i >= 0; i--) {
      const uid = this.uids.at(i);
      if (next.indexOf(uid) === -1) {
        expunged.push(i + 1);
        expungedUids.unshift(uid);
      }
    }
    const added = current.some((uid) => this.uids.indexOf(uid) === -1);
    this.uids = next;
    return { expunged, expungedUids, exists: added ? current.length : null };
  }
}
