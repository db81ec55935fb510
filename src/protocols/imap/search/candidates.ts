import type { UidRange } from '../../../mailbox/api/mailbox-store';
import { contentCriterion } from './index-search';
import type { SearchKey } from './query';

/** What the search index answered for the content keys of one SEARCH (see searchContentKeys). */
export interface IndexAnswers {
  /** The session's UIDs the index knows. */
  indexed: ReadonlySet<number>;
  /** For each content key of the query, the UIDs the index matched. */
  fromIndex: ReadonlyMap<SearchKey, ReadonlySet<number>>;
}

/** UIDs closer than this are read as one range (one query instead of two, a few rows more). */
export const CANDIDATE_MERGE_GAP = 32;
/**
 * Above this many ranges the candidates are scattered enough that one scan of the whole mailbox
 * costs less than one query per range.
 */
export const MAX_CANDIDATE_RANGES = 256;

/**
 * The UIDs that can match `key`, from the index's answers; null when any message can. A message
 * matches a content key only when the index matched it or does not know it yet, so these UIDs
 * hold every match: SEARCH then reads and evaluates only them instead of the whole mailbox (a
 * SUBJECT search in 10,000 messages reads the few that match). AND intersects, OR unites, NOT
 * and every key the index does not answer leave the set open.
 */
export function candidateUids(key: SearchKey, answers: IndexAnswers, uids: readonly number[]): Set<number> | null {
  let unindexed: number[] | null = null;
  const notIndexed = (): number[] => (unindexed ??= uids.filter((uid) => !answers.indexed.has(uid)));
  const visit = (k: SearchKey): Set<number> | null => {
    switch (k.type) {
      case 'none':
        return new Set();
      case 'and': {
        const sets = k.keys.map(visit).filter((set): set is Set<number> => set !== null);
        if (sets.length === 0) return null;
        return sets.reduce((result, set) => new Set([...result].filter((uid) => set.has(uid))));
      }
      case 'or': {
        const left = visit(k.left);
        const right = left === null ? null : visit(k.right);
        return left === null || right === null ? null : new Set([...left, ...right]);
      }
      case 'not':
        return null;
      default: {
        const matched = contentCriterion(k) ? answers.fromIndex.get(k) : undefined;
        if (!matched) return null;
        return new Set([...matched, ...notIndexed()]);
      }
    }
  };
  return visit(key);
}

/**
 * The candidates as ascending UID ranges, neighbours within CANDIDATE_MERGE_GAP merged; null when
 * there are more than MAX_CANDIDATE_RANGES ranges (scan the mailbox instead).
 */
export function candidateRanges(candidates: ReadonlySet<number>): UidRange[] | null {
  const sorted = [...candidates].sort((a, b) => a - b);
  const ranges: UidRange[] = [];
  for (const uid of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && uid - last.to <= CANDIDATE_MERGE_GAP) last.to = uid;
    else if (ranges.push({ from: uid, to: uid }) > MAX_CANDIDATE_RANGES) return null;
  }
  return ranges;
}
