import { INBOX } from '../../mailbox/api/mailbox-store';

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

/**
 * Compiles a LIST pattern (RFC 3501 §6.3.8): `*` matches anything, `%` anything but the
 * hierarchy delimiter. The pattern is matched against normalized names, so `inbox` finds INBOX.
 */
export function compileListPattern(pattern: string, delimiter: string): RegExp {
  const escape = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  const source = Array.from(normalizeMailboxName(pattern, delimiter))
    .map((char) => (char === '*' ? '.*' : char === '%' ? `[^${escape(delimiter)}]*` : escape(char)))
    .join('');
  return new RegExp(`^${source}$`, 's');
}
