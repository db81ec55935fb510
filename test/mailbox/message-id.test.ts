import { newMessageId, pooledRandomBytes } from '../../src/mailbox/message-id';

describe('newMessageId', () => {
  const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('is a UUID version 7 whose first 48 bits are the time in ms', () => {
    const id = newMessageId(Date.UTC(2026, 11, 1, 6, 30));
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2026, 11, 1, 6, 30));
  });

  it('sorts ids of later milliseconds after earlier ones, whatever their random bits', () => {
    const earlier = newMessageId(1_000, Buffer.alloc(10, 0xff));
    const later = newMessageId(1_001, Buffer.alloc(10, 0x00));
    expect(earlier < later).toBe(true);
    expect(later).toMatch(UUID_V7);
    expect(earlier).toMatch(UUID_V7);
  });

  it('differs between ids of the same millisecond', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newMessageId(5_000)));
    expect(ids.size).toBe(10_000);
  });

  it('keeps a valid id for a time outside the 48-bit range', () => {
    expect(newMessageId(-5)).toMatch(/^00000000-0000-7/);
    expect(newMessageId(2 ** 48 + 7)).toMatch(UUID_V7);
  });

  it('draws its random bits from a pool refilled as it runs out: no two draws repeat, across refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) seen.add(pooledRandomBytes(10).toString('hex'));
    expect(seen.size).toBe(2_000);
    expect(pooledRandomBytes(4096)).toHaveLength(4096);
    expect(() => pooledRandomBytes(4097)).toThrow(RangeError);
  });
});
