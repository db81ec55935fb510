/** `*`: the largest number in use (RFC 3501 §9 seq-number). */
export const STAR = '*';

export type SeqNumber = number | typeof STAR;

/** One element of a sequence set; `from` may be larger than `to` (`*:3`, `7:2`). */
export interface SequenceRange {
  from: SeqNumber;
  to: SeqNumber;
}

/** An inclusive range with `from <= to`. */
export interface NumberRange {
  from: number;
  to: number;
}

/** Sequence numbers and UIDs are 32-bit unsigned (RFC 3501 §9 nz-number). */
export const MAX_SEQ_NUMBER = 4_294_967_295;

export class InvalidSequenceSetError extends Error {
  constructor(text: string) {
    super(`Invalid sequence set ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)}`);
    this.name = 'InvalidSequenceSetError';
  }
}

function parseSeqNumber(text: string, whole: string): SeqNumber {
  if (text === STAR) return STAR;
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new InvalidSequenceSetError(whole);
  const value = Number(text);
  if (value > MAX_SEQ_NUMBER) throw new InvalidSequenceSetError(whole);
  return value;
}

/**
 * Parses `sequence-set` (RFC 3501 §9): `1:*`, `2,4:7`, `*:3`. Strict: no empty elements, no
 * leading zeros, no zero, nothing above 2^32-1. Throws InvalidSequenceSetError.
 */
export function parseSequenceSet(text: string): SequenceRange[] {
  if (text.length === 0) throw new InvalidSequenceSetError(text);
  return text.split(',').map((element) => {
    const parts = element.split(':');
    if (parts.length === 1) {
      const value = parseSeqNumber(parts[0], text);
      return { from: value, to: value };
    }
    if (parts.length !== 2) throw new InvalidSequenceSetError(text);
    return { from: parseSeqNumber(parts[0], text), to: parseSeqNumber(parts[1], text) };
  });
}

/**
 * Replaces `*` by `largest`, orders each range, then sorts and merges overlapping or adjacent
 * ranges. With `largest` 0 (empty mailbox) `*` stands for 0, so `1:*` becomes `0:1`; callers clamp.
 */
export function resolveSequenceSet(set: readonly SequenceRange[], largest: number): NumberRange[] {
  const ranges = set
    .map(({ from, to }) => {
      const a = from === STAR ? largest : from;
      const b = to === STAR ? largest : to;
      return a <= b ? { from: a, to: b } : { from: b, to: a };
    })
    .sort((x, y) => x.from - y.from);
  const merged: NumberRange[] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range.from <= last.to + 1) {
      last.to = Math.max(last.to, range.to);
    } else {
      merged.push({ ...range });
    }
  }
  return merged;
}

/** A message set argument: a sequence/UID set, or `$`, the saved search result (RFC 5182 SEARCHRES). */
export type MessageSet = SequenceRange[] | '$';
