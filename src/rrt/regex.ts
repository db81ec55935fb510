import vm from 'node:vm';
import safeRegex from 'safe-regex2';
import { InvalidInputError } from '../core/errors';

/** Longest regex mapping value (`pattern:replacement`) accepted: mappings are admin data, not programs. */
export const MAX_REGEX_MAPPING_LENGTH = 512;
/**
 * Bound on one regex evaluation. Patterns are screened when written (no nested quantifiers, no
 * back-references), and inputs are addresses of at most 254 characters; this is the second line
 * of defence should a pattern still backtrack catastrophically (it then fails like an error mapping).
 */
export const REGEX_TIMEOUT_MS = 50;

export class RegexTimeoutError extends Error {}

export interface RegexMapping {
  pattern: string;
  replacement: string;
}

/**
 * Splits James' regex mapping value `<pattern>:<replacement>` at the first `:` after the first
 * character (James' RegexRewriter), so a pattern cannot contain `:` except as its first character.
 */
export function parseRegexMapping(value: string): RegexMapping {
  const colon = value.indexOf(':', 1);
  if (colon < 0) throw new InvalidInputError('Regex mapping should be formatted as <regular-expression>:<parameterized-string>');
  return { pattern: value.slice(0, colon), replacement: value.slice(colon + 1) };
}

/**
 * Checks a regex mapping before it is stored: it compiles, and it cannot backtrack
 * catastrophically (star height ≤ 1 and bounded repetitions, checked by safe-regex2; no
 * back-references; no quantified group holding an alternation, like `(a|a)*`).
 */
export function validateRegexMapping(value: string): RegexMapping {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidInputError('The regex mapping is empty');
  if (value.length > MAX_REGEX_MAPPING_LENGTH) throw new InvalidInputError(`The regex mapping is longer than ${MAX_REGEX_MAPPING_LENGTH} characters`);
  if (/[\r\n\0]/.test(value)) throw new InvalidInputError('The regex mapping contains a line break or NUL');
  const parsed = parseRegexMapping(value);
  if (parsed.pattern.length === 0) throw new InvalidInputError('The regex mapping has an empty pattern');
  try {
    new RegExp(parsed.pattern);
  } catch (err) {
    throw new InvalidInputError(`Invalid regex ${JSON.stringify(parsed.pattern)}: ${(err as Error).message}`);
  }
  if (/\\[1-9]|\\k</.test(parsed.pattern)) throw new InvalidInputError(`Regex ${JSON.stringify(parsed.pattern)} uses a back-reference, which may backtrack catastrophically`);
  if (!safeRegex(parsed.pattern) || hasQuantifiedAlternation(parsed.pattern)) {
    throw new InvalidInputError(`Regex ${JSON.stringify(parsed.pattern)} may backtrack catastrophically (nested or overlapping quantifiers)`);
  }
  if (/\$\{(?!\d+\})/.test(parsed.replacement)) throw new InvalidInputError('The regex replacement may only refer to groups as ${n}');
  return parsed;
}

/** True when a group containing `|` is followed by a quantifier that repeats it (`(a|ab)*`, `(x|y){2,}`). */
function hasQuantifiedAlternation(pattern: string): boolean {
  const stack: Array<{ alternation: boolean }> = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    if (char === '[') inClass = true;
    else if (char === '(') stack.push({ alternation: false });
    else if (char === '|' && stack.length > 0) stack[stack.length - 1].alternation = true;
    else if (char === ')') {
      const group = stack.pop();
      const next = pattern[i + 1];
      const repeats = next === '*' || next === '+' || (next === '{' && !/^\{(\d+)\}|^\{[01](,[01])?\}/.test(pattern.slice(i + 1)));
      if (group?.alternation && repeats) return true;
      if (group?.alternation && stack.length > 0) stack[stack.length - 1].alternation = true;
    }
  }
  return false;
}

/** One reusable context: creating a V8 context per evaluation costs about a millisecond. */
const context = vm.createContext({ re: null as RegExp | null, input: '' });
const matchScript = new vm.Script('re.exec(input)');

/**
 * Applies a regex mapping to an address: a full match (Java's `Matcher.matches()`) rewrites it to
 * the replacement with `${n}` replaced by group n; no match gives null. Throws RegexTimeoutError when
 * the evaluation takes longer than REGEX_TIMEOUT_MS.
 */
export function applyRegexMapping(mapping: RegexMapping, address: string): string | null {
  let match: RegExpExecArray | null;
  context.re = new RegExp(`^(?:${mapping.pattern})$`);
  context.input = address;
  try {
    match = matchScript.runInContext(context, { timeout: REGEX_TIMEOUT_MS }) as RegExpExecArray | null;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new RegexTimeoutError(`Regex ${JSON.stringify(mapping.pattern)} took longer than ${REGEX_TIMEOUT_MS} ms`);
    throw err;
  } finally {
    context.re = null;
    context.input = '';
  }
  if (!match) return null;
  const groups = Array.from(match);
  return mapping.replacement.replace(/\$\{(\d+)\}/g, (_, n: string) => groups[Number(n)] ?? '');
}
