import { randomBytes } from 'node:crypto';
import { BloomFilter } from '../../src/blob/gc/bloom-filter';
import { InvalidInputError } from '../../src/core/errors';

const ids = (n: number) => Array.from({ length: n }, () => randomBytes(32).toString('hex'));

describe('BloomFilter of blob references', () => {
  it('never forgets an id it was given (no false negatives: nothing referenced is collected)', () => {
    const filter = BloomFilter.create(10_000, 0.01);
    const referenced = ids(10_000);
    for (const id of referenced) filter.add(id);
    expect(referenced.every((id) => filter.mightContain(id))).toBe(true);
    expect(filter.count).toBe(10_000);
  });

  it('keeps false positives near the asked probability', () => {
    const filter = BloomFilter.create(20_000, 0.01);
    for (const id of ids(20_000)) filter.add(id);
    const strangers = ids(20_000);
    const rate = strangers.filter((id) => filter.mightContain(id)).length / strangers.length;
    expect(rate).toBeLessThan(0.02);
    expect(filter.estimatedFalsePositiveRate).toBeGreaterThan(0.005);
    expect(filter.estimatedFalsePositiveRate).toBeLessThan(0.02);
  });

  it('sizes itself as a Bloom filter should: ~9.6 bits and 7 hashes per id at 1 %', () => {
    const filter = BloomFilter.create(1_000_000, 0.01);
    expect(filter.bits / 1_000_000).toBeCloseTo(9.585, 1);
    expect(filter.hashes).toBe(7);
  });

  it('survives serialization (the filter travels between activities through the blob store)', () => {
    const filter = BloomFilter.create(1_000, 0.001);
    const referenced = ids(1_000);
    for (const id of referenced) filter.add(id);
    const copy = BloomFilter.deserialize(filter.serialize());
    expect(referenced.every((id) => copy.mightContain(id))).toBe(true);
    expect(copy.count).toBe(1_000);
    expect(copy.bits).toBe(filter.bits);
    expect(copy.hashes).toBe(filter.hashes);
  });

  it('draws a new salt per filter, so the orphans that collide differ from run to run', () => {
    const a = BloomFilter.create(100, 0.3);
    const b = BloomFilter.create(100, 0.3);
    for (const id of ids(100)) {
      a.add(id);
      b.add(id);
    }
    expect(a.serialize().equals(b.serialize())).toBe(false);
  });

  it('refuses damaged bytes and absurd parameters', () => {
    const bytes = BloomFilter.create(100, 0.01).serialize();
    expect(() => BloomFilter.deserialize(bytes.subarray(0, bytes.length - 1))).toThrow(/Truncated/);
    expect(() => BloomFilter.deserialize(Buffer.from('not a filter at all, just text'))).toThrow(InvalidInputError);
    expect(() => BloomFilter.create(0, 0.01)).toThrow(/expectedBlobCount/);
    expect(() => BloomFilter.create(10, 1)).toThrow(/associatedProbability/);
    expect(() => BloomFilter.create(10, 0)).toThrow(/associatedProbability/);
  });
});
