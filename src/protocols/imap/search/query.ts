import type { NumberRange } from '../sequence-set';
import type { SequenceRange } from '../sequence-set';

/** A calendar day (search dates ignore time and timezone, RFC 3501 §6.4.4). `YYYY-MM-DD`. */
export type Day = string;

/** One SEARCH key (RFC 3501 §6.4.4, RFC 9051 §6.4.4, RFC 5032 WITHIN, RFC 7162 MODSEQ). */
export type SearchKey =
  | { type: 'all' }
  | { type: 'none' }
  /** A flag or keyword is set (`present`) or not. Flags compare case-insensitively. */
  | { type: 'flag'; flag: string; present: boolean }
  | { type: 'sequence'; set: SequenceRange[] }
  | { type: 'uid'; set: SequenceRange[] }
  | { type: 'larger' | 'smaller'; size: number }
  | { type: 'date'; field: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; day: Day }
  /** WITHIN: internal date older/younger than `seconds` before now. */
  | { type: 'older' | 'younger'; seconds: number }
  /** A header field contains `value` (case-insensitive); an empty value matches any message having the field. */
  | { type: 'header'; field: string; value: string }
  | { type: 'body' | 'text'; value: string }
  | { type: 'modseq'; modSeq: number }
  /** `$`: the messages the last SEARCH RETURN (SAVE) saved (RFC 5182). */
  | { type: 'saved' }
  /** RFC 8474 §6: the message's EMAILID / THREADID (an objectid) equals `id`. */
  | { type: 'emailid' | 'threadid'; id: string }
  | { type: 'not'; key: SearchKey }
  | { type: 'or'; left: SearchKey; right: SearchKey }
  | { type: 'and'; keys: SearchKey[] };

/** ESEARCH return options (RFC 4731) and SAVE (RFC 5182 SEARCHRES). */
export type ReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE';

export interface SearchRequest {
  key: SearchKey;
  /** null: a plain `* SEARCH` answer; otherwise the ESEARCH options (empty means ALL). */
  returnOptions: ReturnOption[] | null;
}

/** True when evaluating the key needs the message content (headers or body). */
export function needsContent(key: SearchKey): boolean {
  switch (key.type) {
    case 'header':
    case 'body':
    case 'text':
      return true;
    case 'date':
      return key.field === 'sent';
    case 'not':
      return needsContent(key.key);
    case 'or':
      return needsContent(key.left) || needsContent(key.right);
    case 'and':
      return key.keys.some(needsContent);
    default:
      return false;
  }
}

/** True when the key needs the message's thread (THREADID, RFC 8474): only the MailboxManager has it. */
export function needsThread(key: SearchKey): boolean {
  switch (key.type) {
    case 'threadid':
      return true;
    case 'not':
      return needsThread(key.key);
    case 'or':
      return needsThread(key.left) || needsThread(key.right);
    case 'and':
      return key.keys.some(needsThread);
    default:
      return false;
  }
}

/** True when the key uses MODSEQ (the SEARCH answer then carries the highest mod-sequence, RFC 7162 §3.1.5). */
export function usesModSeq(key: SearchKey): boolean {
  switch (key.type) {
    case 'modseq':
      return true;
    case 'not':
      return usesModSeq(key.key);
    case 'or':
      return usesModSeq(key.left) || usesModSeq(key.right);
    case 'and':
      return key.keys.some(usesModSeq);
    default:
      return false;
  }
}

/** Compresses ascending numbers to a sequence set string: `1:3,7,9:10`. */
export function formatNumberSet(numbers: readonly number[]): string {
  const ranges: NumberRange[] = [];
  for (const n of numbers) {
    const last = ranges[ranges.length - 1];
    if (last && n === last.to + 1) last.to = n;
    else ranges.push({ from: n, to: n });
  }
  return ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}:${r.to}`)).join(',');
}
