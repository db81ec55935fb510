import { InvalidInputError } from '../../core/errors';
import { MailboxLimitError } from './errors';

export const SEEN = '\\Seen';
export const DELETED = '\\Deleted';
/** RFC 3501 §2.3.2 system flags that can be stored (`\Recent` is session state, never stored). */
export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;
/** Longest keyword accepted (Dovecot and James cap keywords well below an IMAP line). */
export const MAX_KEYWORD_LENGTH = 100;
/** Flags and keywords per message; a client setting more is broken or hostile. */
export const MAX_FLAGS_PER_MESSAGE = 100;

const CANONICAL = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
/** RFC 3501 `atom` characters (no control characters, space, `(){%*"\` nor `]`). */
// eslint-disable-next-line no-control-regex
const KEYWORD = /^[^\u0000-\u0020\u007f(){%*"\\\]]+$/;

/**
 * Validates and normalizes flags: system flags to their canonical spelling, keywords kept as
 * given; duplicates (case-insensitive, RFC 3501 keywords are) removed. `\Recent` and unknown
 * `\`-flags are an InvalidInputError, as is an invalid or over-long keyword.
 */
export function normalizeFlags(flags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const flag of flags) {
    if (typeof flag !== 'string' || flag.length === 0) throw new InvalidInputError('Empty flag');
    let normalized = flag;
    if (flag.startsWith('\\')) {
      const canonical = CANONICAL.get(flag.toLowerCase());
      if (!canonical) throw new InvalidInputError(`Flag ${flag} cannot be stored`);
      normalized = canonical;
    } else {
      if (!KEYWORD.test(flag)) throw new InvalidInputError(`Invalid keyword ${JSON.stringify(flag)}`);
      if (flag.length > MAX_KEYWORD_LENGTH) throw new MailboxLimitError(`Keyword longer than ${MAX_KEYWORD_LENGTH} characters`);
    }
    const key = normalized.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(normalized);
  }
  if (out.length > MAX_FLAGS_PER_MESSAGE) throw new MailboxLimitError(`More than ${MAX_FLAGS_PER_MESSAGE} flags on one message`);
  return out;
}

export function hasFlag(flags: readonly string[], flag: string): boolean {
  const wanted = flag.toLowerCase();
  return flags.some((f) => f.toLowerCase() === wanted);
}

export type FlagUpdateMode = 'add' | 'remove' | 'replace';

/** The flags after an update (case-insensitive for keywords), or null when nothing changes. */
export function applyFlags(current: readonly string[], mode: FlagUpdateMode, flags: readonly string[]): string[] | null {
  let next: string[];
  if (mode === 'replace') next = [...flags];
  else if (mode === 'add') next = [...current, ...flags.filter((f) => !hasFlag(current, f))];
  else next = current.filter((f) => !hasFlag(flags, f));
  const same = next.length === current.length && next.every((f) => hasFlag(current, f));
  if (same) return null;
  if (next.length > MAX_FLAGS_PER_MESSAGE) throw new MailboxLimitError(`More than ${MAX_FLAGS_PER_MESSAGE} flags on one message`);
  return next;
}
