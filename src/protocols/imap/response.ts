/** Building blocks of server responses (RFC 3501 §7, §9). */

/**
 * A string as IMAP `string`: quoted when it is 7-bit text without CR/LF, else a literal
 * (`{n}` CRLF bytes) which may sit inside a response line.
 */
export function formatString(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value)) return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  return `{${Buffer.byteLength(value, 'utf8')}}\r\n${value}`;
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

/** The tagged line; control characters in the text (error messages may quote input) become spaces. */
export function formatTagged(tag: string, result: TaggedResult): string {
  const code = result.code === undefined ? '' : `[${result.code}] `;
  // eslint-disable-next-line no-control-regex
  return `${tag} ${result.status} ${code}${result.text.replace(/[\x00-\x1f\x7f]/g, ' ')}`;
}
