import { BoundedCache } from '../../../src/core/bounded-cache';

describe('BoundedCache', () => {
  it('loads a key once, and again after clear()', () => {
    const cache = new BoundedCache<number | null>();
    const load = jest.fn(() => null);
    expect(cache.get('a', load)).toBeNull();
    expect(cache.get('a', load)).toBeNull();
    expect(load).toHaveBeenCalledTimes(1);
    cache.clear();
    expect(cache.size).toBe(0);
    cache.get('a', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('keeps at most its capacity, dropping the oldest answer first', () => {
    const cache = new BoundedCache<string>(2);
    cache.get('a', () => 'A');
    cache.get('b', () => 'B');
    cache.get('c', () => 'C');
    expect(cache.size).toBe(2);
    expect(cache.get('b', () => 'reloaded')).toBe('B');
    expect(cache.get('c', () => 'reloaded')).toBe('C');
    expect(cache.get('a', () => 'reloaded')).toBe('reloaded');
  });

  it('does not keep a load that threw: the next get loads again', () => {
    const cache = new BoundedCache<string>();
    expect(() =>
      cache.get('a', () => {
        throw new Error('SQLITE_BUSY');
      }),
    ).toThrow('SQLITE_BUSY');
    expect(cache.size).toBe(0);
    expect(cache.get('a', () => 'A')).toBe('A');
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new BoundedCache(0)).toThrow(RangeError);
    expect(() => new BoundedCache(1.5)).toThrow(/positive integer/);
  });
});
