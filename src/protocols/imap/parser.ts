import { MAX_LIST_NESTING } from './limits';

/**
 * A complete command as cut by the framer: its lines (without CRLF, decoded as latin1 so each
 * char is one byte) and the literals between them. Every line but the last ends with its literal
 * marker (`{n}` or `{n+}`), and `literals[i]` follows `lines[i]`.
 */
export interface FramedCommand {
  readonly lines: readonly string[];
  readonly literals: readonly (Buffer | ChunkedLiteral)[];
}

/**
 * A literal larger than MAX_LITERAL_SIZE (only APPEND may send one: a message), kept as the
 * chunks it arrived in, so a 50 MB message is held once and streamed to the blob store, never
 * copied into one buffer.
 */
export interface ChunkedLiteral {
  readonly chunks: readonly Buffer[];
  readonly length: number;
}

/** `<start.length>` of `BODY[]<0.1024>`. */
export interface Partial {
  start: number;
  length: number;
}

export type ImapValue = ImapAtom | ImapQuoted | ImapLiteral | ImapNil | ImapList;

/**
 * An atom. Besides ATOM-CHARs it may hold `%`, `*` (list wildcards, sequence sets) and `]`
 * (ASTRING-CHAR): each command checks the form it expects. Fetch attributes such as
 * `BODY.PEEK[HEADER.FIELDS (From)]<0.100>` carry their section and partial.
 */
export interface ImapAtom {
  type: 'atom';
  value: string;
  section?: ImapValue[];
  partial?: Partial;
}

/** A quoted string, escapes resolved, decoded as UTF-8. */
export interface ImapQuoted {
  type: 'quoted';
  value: string;
}

/** A literal (`{n}` synchronizing or `{n+}` non-synchronizing), raw bytes. */
export interface ImapLiteral {
  type: 'literal';
  /** The bytes; empty when the literal is chunked (`chunks`). */
  value: Buffer;
  /** A large (APPEND) literal: its bytes in arrival order, `length` of them. */
  chunks?: readonly Buffer[];
  length: number;
}

export interface ImapNil {
  type: 'nil';
}

export interface ImapList {
  type: 'list';
  items: ImapValue[];
}

export interface ParsedCommand {
  tag: string;
  /** Upper-cased. */
  name: string;
  args: ImapValue[];
}

/** The command does not follow the IMAP grammar. `tag` is set when the tag itself was readable. */
export class ImapParseError extends Error {
  constructor(
    message: string,
    readonly tag: string | null,
  ) {
    super(message);
    this.name = 'ImapParseError';
  }
}

/** Atoms that take a `[section]` (RFC 3501 fetch-att, RFC 3516 BINARY). */
const SECTION_ATOMS = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

const LITERAL_MARKER = /^\{(\d+)(\+)?\}$/;

/** ATOM-CHAR: any CHAR except atom-specials `(){ SP CTL % * " \ ]`. */
function isAtomChar(code: number): boolean {
  if (code <= 0x20 || code >= 0x7f) return false;
  // ( ) { % * " \ ]
  return !(code === 0x28 || code === 0x29 || code === 0x7b || code === 0x25 || code === 0x2a || code === 0x22 || code === 0x5c || code === 0x5d);
}

/** tag: 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR is ATOM-CHAR or `]`. */
function isTagChar(code: number): boolean {
  return (isAtomChar(code) || code === 0x5d) && code !== 0x2b;
}

/** Chars of the atoms this parser reads: ATOM-CHAR plus list-wildcards and resp-specials. */
function isAtomLikeChar(code: number): boolean {
  return isAtomChar(code) || code === 0x25 || code === 0x2a || code === 0x5d;
}

/** The tag of a command line, or null when the line does not start with `tag SP`. */
export function extractTag(line: string): string | null {
  let end = 0;
  while (end < line.length && isTagChar(line.charCodeAt(end))) end++;
  return end > 0 && line.charCodeAt(end) === 0x20 ? line.slice(0, end) : null;
}

/**
 * Parses a framed command into tag, command name and arguments. Strict: single spaces between
 * arguments, no trailing space, only `\"` and `\\` escapes, literal lengths as announced.
 * Throws ImapParseError.
 */
export function parseCommand(command: FramedCommand): ParsedCommand {
  return new CommandParser(command).parse();
}

class CommandParser {
  private line = 0;
  private pos = 0;
  private tag: string | null = null;

  constructor(private readonly command: FramedCommand) {
    if (command.lines.length !== command.literals.length + 1) {
      throw new ImapParseError('Malformed command framing', null);
    }
  }

  parse(): ParsedCommand {
    const text = this.text();
    this.tag = extractTag(text);
    if (this.tag === null) {
      throw new ImapParseError(text.length === 0 ? 'Empty command line' : 'Missing or invalid tag', null);
    }
    this.pos = this.tag.length + 1;
    const start = this.pos;
    while (this.pos < text.length && isAtomChar(text.charCodeAt(this.pos))) this.pos++;
    if (this.pos === start) throw this.error('Missing command name');
    const name = text.slice(start, this.pos).toUpperCase();
    if (!/^[A-Z][A-Z0-9-]*$/.test(name)) throw this.error('Invalid command name');
    const args: ImapValue[] = [];
    while (!this.atEnd()) {
      this.expectSpace();
      args.push(this.value(0, false));
    }
    return { tag: this.tag, name, args };
  }

  private text(): string {
    return this.command.lines[this.line];
  }

  private peek(): number {
    const text = this.text();
    return this.pos < text.length ? text.charCodeAt(this.pos) : -1;
  }

  private atEnd(): boolean {
    return this.line === this.command.lines.length - 1 && this.pos >= this.text().length;
  }

  private error(message: string): ImapParseError {
    const at = this.line === 0 ? ` at position ${this.pos}` : '';
    return new ImapParseError(`${message}${at}`, this.tag);
  }

  private expectSpace(): void {
    if (this.peek() !== 0x20) throw this.error('Expected a space');
    this.pos++;
    const next = this.peek();
    if (next === 0x20) throw this.error('Unexpected extra space');
    if (next === -1 && this.line === this.command.lines.length - 1) throw this.error('Unexpected trailing space');
  }

  private value(depth: number, inSection: boolean): ImapValue {
    const code = this.peek();
    if (code === 0x28) return this.list(depth, inSection);
    if (code === 0x22) return this.quoted();
    if (code === 0x7b) return this.literal();
    // RFC 3516 literal8 `~{n}` (APPEND of binary content): bytes as a literal.
    if (code === 0x7e && this.text().charCodeAt(this.pos + 1) === 0x7b) {
      this.pos++;
      return this.literal();
    }
    if (code !== -1 && isAtomLikeChar(code) && !(inSection && code === 0x5d)) return this.atom(depth, inSection);
    // A flag: "\" atom (RFC 3501 flag-extension and system flags such as \Seen).
    if (code === 0x5c && isAtomChar(this.text().charCodeAt(this.pos + 1))) return this.atom(depth, inSection);
    throw this.error(code === -1 ? 'Expected a value' : `Unexpected character ${JSON.stringify(String.fromCharCode(code))}`);
  }

  /** After a value: a space, a closing paren/bracket or the end of the command must follow. */
  private expectDelimiter(inSection: boolean): void {
    const code = this.peek();
    if (code === -1 || code === 0x20 || code === 0x29 || (inSection && code === 0x5d)) return;
    throw this.error(`Unexpected character ${JSON.stringify(String.fromCharCode(code))}`);
  }

  private list(depth: number, inSection: boolean): ImapList {
    if (depth >= MAX_LIST_NESTING) throw this.error('Lists nested too deeply');
    this.pos++;
    const items: ImapValue[] = [];
    if (this.peek() !== 0x29) {
      items.push(this.value(depth + 1, inSection));
      while (this.peek() !== 0x29) {
        if (this.peek() === -1) throw this.error('Unterminated list');
        this.expectSpace();
        items.push(this.value(depth + 1, inSection));
      }
    }
    this.pos++;
    this.expectDelimiter(inSection);
    return { type: 'list', items };
  }

  private quoted(): ImapQuoted {
    const text = this.text();
    let raw = '';
    let i = this.pos + 1;
    for (;;) {
      if (i >= text.length) throw this.error('Unterminated quoted string');
      const code = text.charCodeAt(i);
      if (code === 0x22) break;
      if (code === 0x5c) {
        const next = text.charCodeAt(i + 1);
        if (next !== 0x22 && next !== 0x5c) throw this.error('Invalid escape in quoted string');
        raw += text[i + 1];
        i += 2;
        continue;
      }
      if (code === 0x00 || code === 0x0d || code === 0x0a) throw this.error('Invalid character in quoted string');
      raw += text[i];
      i++;
    }
    this.pos = i + 1;
    this.expectDelimiter(false);
    // Lines are latin1 (one char per byte); 8-bit text in quoted strings is taken as UTF-8.
    return { type: 'quoted', value: Buffer.from(raw, 'latin1').toString('utf8') };
  }

  private literal(): ImapLiteral {
    const marker = LITERAL_MARKER.exec(this.text().slice(this.pos));
    if (!marker || this.line >= this.command.literals.length) throw this.error('Invalid literal');
    const literal = this.command.literals[this.line];
    if (literal.length !== Number(marker[1])) throw this.error('Literal length mismatch');
    this.line++;
    this.pos = 0;
    this.expectDelimiter(false);
    if (Buffer.isBuffer(literal)) return { type: 'literal', value: literal, length: literal.length };
    return { type: 'literal', value: Buffer.alloc(0), chunks: literal.chunks, length: literal.length };
  }

  private atom(depth: number, inSection: boolean): ImapValue {
    const text = this.text();
    const start = this.pos;
    if (text.charCodeAt(this.pos) === 0x5c) this.pos++;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (!isAtomLikeChar(code)) break;
      if (code === 0x5d && inSection) break;
      if (code === 0x5b && SECTION_ATOMS.has(text.slice(start, this.pos).toUpperCase())) {
        const value = text.slice(start, this.pos);
        const section = this.section(depth);
        const partial = this.partial();
        this.expectDelimiter(inSection);
        return partial ? { type: 'atom', value, section, partial } : { type: 'atom', value, section };
      }
      this.pos++;
    }
    const value = text.slice(start, this.pos);
    this.expectDelimiter(inSection);
    return value.toUpperCase() === 'NIL' ? { type: 'nil' } : { type: 'atom', value };
  }

  private section(depth: number): ImapValue[] {
    if (depth >= MAX_LIST_NESTING) throw this.error('Lists nested too deeply');
    this.pos++;
    const items: ImapValue[] = [];
    if (this.peek() !== 0x5d) {
      items.push(this.value(depth + 1, true));
      while (this.peek() !== 0x5d) {
        if (this.peek() === -1) throw this.error('Unterminated section');
        this.expectSpace();
        items.push(this.value(depth + 1, true));
      }
    }
    this.pos++;
    return items;
  }

  private partial(): Partial | undefined {
    if (this.peek() !== 0x3c) return undefined;
    const match = /^<(0|[1-9]\d{0,9})\.([1-9]\d{0,9})>/.exec(this.text().slice(this.pos));
    if (!match) throw this.error('Invalid partial range');
    this.pos += match[0].length;
    return { start: Number(match[1]), length: Number(match[2]) };
  }
}
