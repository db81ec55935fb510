import { CANDIDATE_MERGE_GAP, MAX_CANDIDATE_RANGES, candidateRanges, candidateUids, type IndexAnswers } from '../../../src/protocols/imap/search/candidates';
import type { SearchKey } from '../../../src/protocols/imap/search/query';

const subject: SearchKey = { type: 'header', field: 'SUBJECT', value: 'report' };
const body: SearchKey = { type: 'body', value: 'invoice' };
const unseen: SearchKey = { type: 'flag', flag: '\\Seen', present: false };
const uids = Array.from({ length: 100 }, (_, i) => i + 1);

function answers(indexed: number[], matches: Array<[SearchKey, number[]]>): IndexAnswers {
  return { indexed: new Set(indexed), fromIndex: new Map(matches.map(([k, found]) => [k, new Set(found)])) };
}

const sorted = (set: Set<number> | null): number[] | null => (set === null ? null : [...set].sort((a, b) => a - b));

describe('SEARCH candidates from the index', () => {
  it('a content key narrows to what the index matched', () => {
    expect(sorted(candidateUids(subject, answers(uids, [[subject, [7, 42]]]), uids))).toEqual([7, 42]);
  });

  it('messages the index does not know yet stay candidates', () => {
    const known = uids.filter((uid) => uid < 99);
    expect(sorted(candidateUids(subject, answers(known, [[subject, [7]]]), uids))).toEqual([7, 99, 100]);
  });

  it('AND intersects the keys that narrow and ignores those that do not', () => {
    const key: SearchKey = { type: 'and', keys: [unseen, subject, body] };
    expect(sorted(candidateUids(key, answers(uids, [[subject, [1, 2, 3]], [body, [2, 3, 4]]]), uids))).toEqual([2, 3]);
    expect(candidateUids({ type: 'and', keys: [unseen] }, answers(uids, []), uids)).toBeNull();
  });

  it('OR unites two narrowing sides, and is open when one side is open', () => {
    expect(sorted(candidateUids({ type: 'or', left: subject, right: body }, answers(uids, [[subject, [1]], [body, [5]]]), uids))).toEqual([1, 5]);
    expect(candidateUids({ type: 'or', left: subject, right: unseen }, answers(uids, [[subject, [1]]]), uids)).toBeNull();
    expect(candidateUids({ type: 'or', left: unseen, right: subject }, answers(uids, [[subject, [1]]]), uids)).toBeNull();
  });

  it('NOT, flags and keys the index did not answer leave every message a candidate', () => {
    expect(candidateUids({ type: 'not', key: subject }, answers(uids, [[subject, [1]]]), uids)).toBeNull();
    expect(candidateUids(unseen, answers(uids, []), uids)).toBeNull();
    expect(candidateUids(subject, answers(uids, []), uids)).toBeNull();
    expect(candidateUids({ type: 'date', field: 'internal', op: 'on', day: '2024-03-04' }, answers(uids, []), uids)).toBeNull();
  });

  it('NONE has no candidate and empties an AND', () => {
    expect(sorted(candidateUids({ type: 'and', keys: [{ type: 'none' }, unseen] }, answers(uids, []), uids))).toEqual([]);
  });

  it('groups candidates into ranges, merging neighbours within the gap', () => {
    expect(candidateRanges(new Set([9, 1, 2, 3]))).toEqual([{ from: 1, to: 9 }]);
    expect(candidateRanges(new Set([1, 2 + CANDIDATE_MERGE_GAP]))).toEqual([
      { from: 1, to: 1 },
      { from: 2 + CANDIDATE_MERGE_GAP, to: 2 + CANDIDATE_MERGE_GAP },
    ]);
    expect(candidateRanges(new Set())).toEqual([]);
  });

  it('gives up on ranges (a whole-mailbox scan) when the candidates are too scattered', () => {
    const scattered = (count: number): Set<number> => new Set(Array.from({ length: count }, (_, i) => 1 + i * (CANDIDATE_MERGE_GAP + 1)));
    expect(candidateRanges(scattered(MAX_CANDIDATE_RANGES))).toHaveLength(MAX_CANDIDATE_RANGES);
    expect(candidateRanges(scattered(MAX_CANDIDATE_RANGES + 1))).toBeNull();
  });
});
