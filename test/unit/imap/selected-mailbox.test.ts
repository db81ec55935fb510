import type { Mailbox } from '../../../src/mailbox/api/mailbox-store';
import { ImapBadError } from '../../../src/protocols/imap/errors';
import { SelectedMailbox, UidList } from '../../../src/protocols/imap/selected-mailbox';
import { parseSequenceSet } from '../../../src/protocols/imap/sequence-set';

const mailbox: Mailbox = { id: 'm1', owner: 'u', name: 'INBOX', uidValidity: 1, uidNext: 20, highestModSeq: 1, messageCount: 4 };

describe('SelectedMailbox', () => {
  const view = (): SelectedMailbox => new SelectedMailbox(mailbox, false, [3, 5, 9, 12]);

  it('maps message sequence numbers to UID ranges', () => {
    expect(view().uidRangesForSequenceSet(parseSequenceSet('2:*'))).toEqual([{ from: 5, to: 12 }]);
    expect(view().uidRangesForSequenceSet(parseSequenceSet('1,3'))).toEqual([
      { from: 3, to: 3 },
      { from: 9, to: 9 },
    ]);
  });

  it('refuses sequence numbers beyond the message count', () => {
    expect(() => view().uidRangesForSequenceSet(parseSequenceSet('4:5'))).toThrow(ImapBadError);
    expect(() => new SelectedMailbox(mailbox, false, []).uidRangesForSequenceSet(parseSequenceSet('1:*'))).toThrow(ImapBadError);
  });

  it('clamps UID sets to the view, n:* above the highest UID giving the last message', () => {
    expect(view().uidRangesForUidSet(parseSequenceSet('100:*'))).toEqual([{ from: 12, to: 12 }]);
    expect(view().uidRangesForUidSet(parseSequenceSet('1:4,50'))).toEqual([{ from: 3, to: 4 }]);
    expect(new SelectedMailbox(mailbox, false, []).uidRangesForUidSet(parseSequenceSet('1:*'))).toEqual([]);
  });

  it('gives the sequence number of UIDs in the view only', () => {
    expect(view().sequenceOf(9)).toBe(3);
    expect(view().sequenceOf(10)).toBeNull();
  });

  it('reports expunged messages highest first, then the new count', () => {
    const selected = view();
    expect(selected.update([3, 9, 13, 14])).toEqual({ expunged: [4, 2], expungedUids: [5, 12], exists: 4 });
    expect(selected.sequenceOf(13)).toBe(3);
    expect(selected.update([3, 9, 13, 14])).toEqual({ expunged: [], expungedUids: [], exists: null });
  });

  it('removes expunged UIDs and keeps track of flag changes from events', async () => {
    const selected = view();
    expect(selected.removeUids([5, 12, 99])).toEqual([4, 2]);
    expect(selected.announcedUids).toEqual([3, 9]);
    const changed = selected.changed();
    selected.notify({ type: 'FlagsUpdated', eventId: 'e', user: 'u', mailboxId: 'm1', uids: [9, 3], modSeq: 2 } as never);
    await changed;
    expect(selected.hasPendingChanges).toBe(true);
    selected.forgetFlagChanges([3]);
    expect(selected.takeFlagChanges()).toEqual([9]);
    expect(selected.hasPendingChanges).toBe(false);
    selected.notify({ type: 'FlagsUpdated', eventId: 'e', user: 'u', mailboxId: 'other', uids: [9], modSeq: 3 } as never);
    expect(selected.hasPendingChanges).toBe(false);
  });
});

describe('UidList', () => {
  it('maps positions and UIDs both ways across gaps', () => {
    const uids = [1, 2, 3, 7, 8, 20, 22, 23];
    const list = new UidList(uids);
    expect(list.length).toBe(8);
    expect(uids.map((_, i) => list.at(i))).toEqual(uids);
    expect(uids.map((uid) => list.indexOf(uid))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const missing of [0, 4, 6, 9, 21, 24, 1000]) expect(list.indexOf(missing)).toBe(-1);
    expect(list.toArray()).toEqual(uids);
  });

  it('holds a contiguous mailbox of 10,000 UIDs as one run', () => {
    const list = new UidList(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect(list.runs).toBe(1);
    expect(list.at(9_999)).toBe(10_000);
    expect(list.indexOf(5_000)).toBe(4_999);
  });

  it('is empty for no UIDs', () => {
    const list = new UidList([]);
    expect(list.length).toBe(0);
    expect(list.indexOf(1)).toBe(-1);
    expect(list.toArray()).toEqual([]);
  });
});

