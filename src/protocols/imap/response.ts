/** Building blocks of server responses (RFC 3501 §7, §9). */

/**
 * A string as IMAP `string`: quoted when it is 7-bit text without CR/LF, else a literal
 * (`{n}` CRLF bytes) which may sit inside a response line.
 */
export function formatString(value: string): string {
  // One pass over the characters (a range FETCH of ENVELOPEs formats a dozen strings per message:
  // this loop measured 2.5x faster than a test regex then a replace on every string).
  let escapes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x00 || c === 0x0a || c === 0x0d || c > 0x7f) return `{${Buffer.byteLength(value, 'utf8')}}\r\n${value}`;
    if (c === 0x22 || c === 0x5c) escapes = true;
  }
  return escapes ? `"${value.replace(/[\\"]/g, '\\$&')}"` : `"${value}"`;
}

/** flag-keyword is an atom; system flags are `\` + atom. */
// eslint-disable-next-line no-control-regex
const FLAG = /^\\?[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/;

export function isValidFlag(flag: string): boolean {
  return FLAG.test(flag);
}

/**
 * `(\Seen $Label)`. Flags that cannot be written as atoms (set through another protocol) are
 * left out rather than breaking the response syntax.
 */
export function formatFlags(flags: readonly string[]): string {
  return `(${flags.filter(isValidFlag).join(' ')})`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** date-time of RFC 3501 §9, in UTC: `"17-Jul-1996 09:44:25 +0000"` (quotes included). */
export function formatInternalDate(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `"${two(date.getUTCDate())}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000"`
  );
}

export type TaggedStatus = 'OK' | 'NO' | 'BAD';

/** The tagged completion of a command. */
export interface TaggedResult {
  status: TaggedStatus;
  /** Response code without brackets, e.g. `READ-WRITE`, `NONEXISTENT`. */
  code?: string;
  text: string;
}

export function ok(text: string, code?: string): TaggedResult {
  return code === undefined ? { status: 'OK', text } : { status: 'OK', code, text };
}

/**
 * The tagged line; control characters in the text (error messages may quote input) become spaces.
 * `sevenBit`: the client has not enabled IMAP4rev2, whose resp-text alone may carry UTF-8 (RFC 9051
 * Appendix E item 24; RFC 3501 TEXT-CHAR is 7-bit): runs of other characters (a mailbox name in an
 * error) are written in modified UTF-7, the spelling such a client uses for names.
 */
export function formatTagged(tag: string, result: TaggedResult, sevenBit = false): string {
  const code = result.code === undefined ? '' : `[${result.code}] `;
  // eslint-disable-next-line no-control-regex
  const text = result.text.replace(/[\x00-\x1f\x7f]/g, ' ');
  return `${tag} ${result.status} ${code}${sevenBit ? text.replace(/[^ -~]+/g, modifiedUtf7Run) : text}`;
}

/** A run of non-ASCII characters in modified UTF-7 (RFC 3501 §5.1.3): `&` + base64 of UTF-16BE, `,` for `/`, `-`. */
function modifiedUtf7Run(run: string): string {
  const utf16 = Buffer.alloc(run.length * 2);
  for (let i = 0; i < run.length; i++) utf16.writeUInt16BE(run.charCodeAt(i), i * 2);
  return `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
}
