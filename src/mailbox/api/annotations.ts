import { InvalidInputError } from '../../core/errors';

/** RFC 5464 limits (announced as METADATA MAXSIZE; TOOMANY above the count). */
export const MAX_ANNOTATION_SIZE = 64 * 1024;
export const MAX_ANNOTATIONS_PER_MAILBOX = 200;
export const MAX_ANNOTATION_KEY_LENGTH = 256;

/** One mailbox annotation (RFC 5464 entry → value). A null value removes the entry. */
export interface Annotation {
  /** `/private/…` (per user) or `/shared/…` (one value for everybody). */
  key: string;
  value: string | null;
}

/** RFC 5464 §3.4 GETMETADATA DEPTH. */
export type AnnotationDepth = '0' | '1' | 'infinity';

/**
 * Validates an entry name (RFC 5464 §3.2): starts with `/private/` or `/shared/`, `/`-separated
 * non-empty components, no wildcards `*`/`%`, no control characters; compared case-insensitively,
 * so it is returned lower-cased.
 */
export function normalizeAnnotationKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidInputError('Empty annotation entry name');
  if (key.length > MAX_ANNOTATION_KEY_LENGTH) throw new InvalidInputError(`Annotation entry name longer than ${MAX_ANNOTATION_KEY_LENGTH} characters`);
  const lower = key.toLowerCase();
  if (!/^\/(private|shared)\/./.test(lower)) throw new InvalidInputError(`Annotation entry ${JSON.stringify(key)} must start with /private/ or /shared/`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f*%]/.test(lower)) throw new InvalidInputError(`Annotation entry ${JSON.stringify(key)} contains a forbidden character`);
  if (lower.includes('//') || lower.endsWith('/')) throw new InvalidInputError(`Annotation entry ${JSON.stringify(key)} has an empty component`);
  return lower;
}

export function isPrivateKey(key: string): boolean {
  return key.startsWith('/private/');
}

/** True when `key` is wanted by a GETMETADATA of `requested` at `depth`. */
export function matchesDepth(key: string, requested: string, depth: AnnotationDepth): boolean {
  if (key === requested) return true;
  if (depth === '0' || !key.startsWith(`${requested}/`)) return false;
  return depth === 'infinity' || !key.slice(requested.length + 1).includes('/');
}
