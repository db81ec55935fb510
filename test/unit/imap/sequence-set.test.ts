import { InvalidSequenceSetError, parseSequenceSet, resolveSequenceSet } from '../../../src/protocols/imap/sequence-set';

describe('parseSequenceSet', () => {
  it('parses single numbers, ranges and stars', () => {
    expect(parseSequenceSet('1:*')).toEqual([{ from: 1, to: '*' }]);
    expect(parseSequenceSet('2,4:7')).toEqual([
      { from: 2, to: 2 },
      { from: 4, to: 7 },
    ]);
    expect(parseSequenceSet('*:3')).toEqual([{ from: '*', to: 3 }]);
    expect(parseSequenceSet('*')).toEqual([{ from: '*', to: '*' }]);
  });

  it.each(['', '0', '01', '1:', ':1', '1::2', '1,,2', '1,', 'a', '1:2:3', '4294967296', '-1', '1 2', '$'])(
    'refuses %j',
    (text) => {
      expect(() => parseSequenceSet(text)).toThrow(InvalidSequenceSetError);
    },
  );

  it('accepts the largest 32-bit number', () => {
    expect(parseSequenceSet('4294967295')).toEqual([{ from: 4294967295, to: 4294967295 }]);
  });
});

describe('resolveSequenceSet', () => {
  it('replaces the star by the largest number and orders reversed ranges', () => {
    expect(resolveSequenceSet(parseSequenceSet('*:3'), 10)).toEqual([{ from: 3, to: 10 }]);
    expect(resolveSequenceSet(parseSequenceSet('7:2'), 10)).toEqual([{ from: 2, to: 7 }]);
  });

  it('sorts and merges overlapping and adjacent ranges', () => {
    expect(resolveSequenceSet(parseSequenceSet('9,1:3,2,4,7:8,20'), 30)).toEqual([
      { from: 1, to: 4 },
      { from: 7, to: 9 },
      { from: 20, to: 20 },
    ]);
  });

  it('turns n:* with n above the largest number into a range ending at n', () => {
    expect(resolveSequenceSet(parseSequenceSet('15:*'), 10)).toEqual([{ from: 10, to: 15 }]);
  });
});
