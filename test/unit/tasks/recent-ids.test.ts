import { RecentIds } from '../../../src/tasks/recent-ids';

describe('RecentIds (the tasks a node lists from memory)', () => {
  let clock = 0;
  const now = (): number => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('lists ids added within the window, oldest first, and drops them after it', () => {
    const recent = new RecentIds(60_000, 10, now);
    recent.add('a');
    clock += 30_000;
    recent.add('b');
    expect(recent.list()).toEqual(['a', 'b']);
    clock += 30_000; // a is exactly at the window's end: still listed
    expect(recent.list()).toEqual(['a', 'b']);
    clock += 1;
    expect(recent.list()).toEqual(['b']);
    clock += 30_000;
    expect(recent.list()).toEqual([]);
  });

  it('forgets expired ids when a new one is added, so memory does not grow with time', () => {
    const recent = new RecentIds(1_000, 100, now);
    for (let i = 0; i < 50; i++) {
      recent.add(`id-${i}`);
      clock += 100;
    }
    // Only the ids of the last second are kept (the one just at the limit included).
    expect(recent.size).toBe(11);
    expect(recent.list()).toEqual(Array.from({ length: 10 }, (_, i) => `id-${40 + i}`));
  });

  it('keeps at most max ids, dropping the oldest', () => {
    const recent = new RecentIds(60_000, 3, now);
    for (const id of ['a', 'b', 'c', 'd', 'e']) recent.add(id);
    expect(recent.size).toBe(3);
    expect(recent.list()).toEqual(['c', 'd', 'e']);
  });

  it('moves an id added again to the end, with its new time', () => {
    const recent = new RecentIds(1_000, 3, now);
    recent.add('a');
    clock += 600;
    recent.add('b');
    recent.add('a');
    clock += 600;
    expect(recent.list()).toEqual(['b', 'a']);
    recent.add('c');
    recent.add('d');
    expect(recent.list()).toEqual(['a', 'c', 'd']);
  });

  it('refuses a window or bound that is not positive', () => {
    expect(() => new RecentIds(0, 10)).toThrow(RangeError);
    expect(() => new RecentIds(1_000, 0)).toThrow(RangeError);
    expect(() => new RecentIds(1_000, 1.5)).toThrow(RangeError);
  });
});
