import { INBOX, MAILBOX_DELIMITER } from '../../mailbox/api/mailbox-store';
import type { MailboxPath } from '../../mailbox/api/mailbox-manager';
import { formatString } from './response';

/**
 * RFC 2342 other users' namespace: another user's mailbox shared through its ACL appears as
 * `#user.<owner>.<name>`. The delimiter `.` would make owners with dots ambiguous, so a `.` of the
 * owner is written `^` (as Cyrus does with `unixhierarchysep: no`).
 */
export const OTHER_USERS_PREFIX = '#user';

/** The name under which `user` sees another user's mailbox. */
export function sharedMailboxName(owner: string, name: string): string {
  return `${OTHER_USERS_PREFIX}${MAILBOX_DELIMITER}${owner.replace(/\./g, '^')}${MAILBOX_DELIMITER}${name}`;
}

/**
 * `{ owner, name }` of a name in the other users' namespace, `{ owner, name: '' }` for the owner's
 * level itself (not a mailbox), or null for a personal name.
 */
export function parseSharedMailboxName(name: string): MailboxPath | null {
  const prefix = `${OTHER_USERS_PREFIX}${MAILBOX_DELIMITER}`;
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  const dot = rest.indexOf(MAILBOX_DELIMITER);
  const owner = (dot === -1 ? rest : rest.slice(0, dot)).replace(/\^/g, '.');
  return { owner, name: dot === -1 ? '' : normalizeMailboxName(rest.slice(dot + 1), MAILBOX_DELIMITER) };
}

/**
 * Encodes a mailbox name (Unicode) to IMAP modified UTF-7 (RFC 3501 §5.1.3): printable ASCII
 * stays, `&` becomes `&-`, other runs become `&` + base64 of UTF-16BE with `,` for `/` + `-`.
 */
export function encodeMailboxName(name: string): string {
  let out = '';
  let run = '';
  const flush = (): void => {
    if (run.length === 0) return;
    const utf16 = Buffer.alloc(run.length * 2);
    for (let i = 0; i < run.length; i++) utf16.writeUInt16BE(run.charCodeAt(i), i * 2);
    out += `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    run = '';
  };
  for (const char of name) {
    const code = char.charCodeAt(0);
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += char === '&' ? '&-' : char;
    } else {
      run += char;
    }
  }
  flush();
  return out;
}

/**
 * A mailbox name as an IMAP string in a response: modified UTF-7 (RFC 3501 §5.1.3), or, once the
 * client enabled IMAP4rev2 (RFC 9051 §5.1) / UTF8=ACCEPT, the UTF-8 name itself as a quoted
 * string (RFC 9051 quoted-char admits UTF-8); a literal only for names a quoted string cannot hold.
 */
export function formatMailboxName(name: string, utf8: boolean): string {
  if (!utf8) return formatString(encodeMailboxName(name));
  // eslint-disable-next-line no-control-regex
  if (/[\x00\r\n]/.test(name)) return `{${Buffer.byteLength(name, 'utf8')}}\r\n${name}`;
  return `"${name.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * Decodes modified UTF-7; null when the encoding is invalid. Names holding 8-bit text are taken
 * as UTF-8 as sent (clients that ignore RFC 3501 §5.1.3 send them so).
 */
export function decodeMailboxName(encoded: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(encoded)) return encoded;
  let out = '';
  let i = 0;
  while (i < encoded.length) {
    const amp = encoded.indexOf('&', i);
    if (amp === -1) {
      out += encoded.slice(i);
      break;
    }
    out += encoded.slice(i, amp);
    const dash = encoded.indexOf('-', amp + 1);
    if (dash === -1) return null;
    const b64 = encoded.slice(amp + 1, dash);
    i = dash + 1;
    if (b64.length === 0) {
      out += '&';
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64) || b64.length % 4 === 1) return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length === 0 || bytes.length % 2 !== 0) return null;
    let decoded = '';
    for (let j = 0; j < bytes.length; j += 2) decoded += String.fromCharCode(bytes.readUInt16BE(j));
    // Printable ASCII must not be base64-encoded (RFC 3501 §5.1.3).
    if (/[\x20-\x7e]/.test(decoded)) return null;
    out += decoded;
  }
  return out;
}

/**
 * INBOX is case-insensitive (RFC 3501 §5.1); its children are spelled with the canonical INBOX
 * too (`inbox.Sent` → `INBOX.Sent`), as most servers and clients do.
 */
export function normalizeMailboxName(name: string, delimiter: string): string {
  const head = name.slice(0, INBOX.length);
  if (head.toUpperCase() === INBOX && (name.length === INBOX.length || name.slice(INBOX.length).startsWith(delimiter))) {
    return INBOX + name.slice(INBOX.length);
  }
  return name;
}

/** A compiled LIST pattern. */
export interface ListPattern {
  test(name: string): boolean;
}

/**
 * Compiles a LIST pattern (RFC 3501 §6.3.8): `*` matches anything, `%` anything but the
 * hierarchy delimiter. Names are compared case-sensitively except INBOX (RFC 3501 §5.1, RFC 9051
 * §5.1): the INBOX part of `INBOX` and of its children (names as normalized) matches pattern
 * characters in any case, wherever they stand in the pattern, so `inbox`, `InBoX*`, `i*`, `*x`
 * and `inbox.%` find INBOX or its children, while `INBOX.SUB` does not find `INBOX.sub` and `i*`
 * does not find `Imap` (Dovecot's behaviour). A glob match over code points: O(pattern × name).
 */
export function compileListPattern(pattern: string, delimiter: string): ListPattern {
  const tokens = Array.from(pattern);
  return {
    test(name: string): boolean {
      const chars = Array.from(name);
      const inboxLength = name === INBOX || name.startsWith(INBOX + delimiter) ? INBOX.length : 0;
      // matched[j]: the pattern tokens seen so far match the first j characters of the name.
      let matched: boolean[] = chars.map(() => false).concat(false);
      matched[0] = true;
      for (const token of tokens) {
        const next: boolean[] = new Array<boolean>(chars.length + 1).fill(false);
        if (token === '*' || token === '%') {
          next[0] = matched[0];
          for (let j = 1; j <= chars.length; j++) next[j] = matched[j] || (next[j - 1] && (token === '*' || chars[j - 1] !== delimiter));
        } else {
          for (let j = 1; j <= chars.length; j++) {
            const char = chars[j - 1];
            next[j] = matched[j - 1] && (token === char || (j <= inboxLength && /^[a-z]$/.test(token) && token.toUpperCase() === char));
          }
        }
        matched = next;
      }
      return matched[chars.length];
    },
  };
}
