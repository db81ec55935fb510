import { InvalidInputError } from '../../core/errors';
import { MailboxLimitError } from './errors';

/**
 * RFC 4314 rights, plus `n` (RFC 5464 §4: write shared annotations):
 * l lookup, r read, s keep \Seen, w write other flags, i insert, p post, k create children,
 * x delete mailbox, t delete messages (\Deleted), e expunge, a administer (ACL), n annotations.
 */
export const ALL_RIGHTS = 'lrswipkxtean';
/** The identifier every user matches (RFC 4314 §2). */
export const ANYONE = 'anyone';
/** Longest ACL identifier accepted (a user name). */
export const MAX_ACL_IDENTIFIER_LENGTH = 255;
/** Entries per mailbox ACL; a mailbox shared with more users than this is an abuse. */
export const MAX_ACL_ENTRIES = 1_000;

export type Right = 'l' | 'r' | 's' | 'w' | 'i' | 'p' | 'k' | 'x' | 't' | 'e' | 'a' | 'n';

/** ACL of a mailbox: identifier (`bob@example.com`, `anyone`, `-bob@example.com` for negative rights) → rights. */
export type MailboxAcl = Record<string, string>;

/**
 * Parses a rights string into canonical order. The obsolete RFC 2086 rights map as RFC 4314
 * §2.1.1 says: `c` → `k`, `d` → `xte`. Unknown characters are an InvalidInputError.
 */
export function parseRights(rights: string): string {
  const set = new Set<string>();
  for (const char of rights) {
    if (char === 'c') set.add('k');
    else if (char === 'd') ['x', 't', 'e'].forEach((r) => set.add(r));
    else if (ALL_RIGHTS.includes(char)) set.add(char);
    else throw new InvalidInputError(`Unknown right ${JSON.stringify(char)} (RFC 4314 rights are ${ALL_RIGHTS})`);
  }
  return [...ALL_RIGHTS].filter((r) => set.has(r)).join('');
}

export function validateIdentifier(identifier: string): void {
  const bare = identifier.startsWith('-') ? identifier.slice(1) : identifier;
  // eslint-disable-next-line no-control-regex
  if (bare.length === 0 || /[\u0000-\u0020\u007f]/.test(bare)) throw new InvalidInputError(`Invalid ACL identifier ${JSON.stringify(identifier)}`);
  if (identifier.length > MAX_ACL_IDENTIFIER_LENGTH) throw new MailboxLimitError(`ACL identifier longer than ${MAX_ACL_IDENTIFIER_LENGTH} characters`);
}

/** Applies a SETACL-style change: `replace`, `add` (`+rights`) or `remove` (`-rights`); '' removes the entry. */
export function applyRights(current: string, change: string, mode: 'replace' | 'add' | 'remove'): string {
  const parsed = parseRights(change);
  if (mode === 'replace') return parsed;
  if (mode === 'add') return parseRights(current + parsed);
  return [...current].filter((r) => !parsed.includes(r)).join('');
}

/**
 * Rights of `user` from an ACL (the owner is not looked up here: the owner has every right):
 * the union of the user's and `anyone`'s entries, minus the negative entries (RFC 4314 §2).
 */
export function effectiveRights(acl: MailboxAcl, user: string): string {
  const granted = new Set<string>([...(acl[user] ?? ''), ...(acl[ANYONE] ?? '')]);
  for (const denied of [...(acl[`-${user}`] ?? ''), ...(acl[`-${ANYONE}`] ?? '')]) granted.delete(denied);
  return [...ALL_RIGHTS].filter((r) => granted.has(r)).join('');
}

export function hasRight(rights: string, right: Right): boolean {
  return rights.includes(right);
}
