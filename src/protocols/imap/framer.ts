import { MAX_APPEND_COMMAND_SIZE, MAX_APPEND_SIZE, MAX_COMMAND_SIZE, MAX_LINE_LENGTH, MAX_LITERAL_SIZE } from './limits';
import { extractTag, type ChunkedLiteral, type FramedCommand } from './parser';

export type FramerEvent =
  /** A complete command (lines and literals). */
  | { type: 'command'; command: FramedCommand }
  /** A synchronizing literal was accepted: the server must send a continuation request. */
  | { type: 'continue' }
  /**
   * The command was refused while framing (too long). Its bytes are skipped up to the end of the
   * command, so the next bytes start a new command. `tag` is null when it was not readable.
   */
  | { type: 'reject'; tag: string | null; text: string; code: string; status?: 'NO' };

export interface FramerLimits {
  maxLineLength: number;
  maxLiteralSize: number;
  maxCommandSize: number;
  /** Literal and command limits of APPEND, whose literals are messages. */
  maxAppendSize: number;
  maxAppendCommandSize: number;
}

const DEFAULT_LIMITS: FramerLimits = {
  maxLineLength: MAX_LINE_LENGTH,
  maxLiteralSize: MAX_LITERAL_SIZE,
  maxCommandSize: MAX_COMMAND_SIZE,
  maxAppendSize: MAX_APPEND_SIZE,
  maxAppendCommandSize: MAX_APPEND_COMMAND_SIZE,
};

const APPEND_LINE = /^[^ ]+ APPEND /i;
/** SETMETADATA values are literals too: over the limit, RFC 5464 §4.3 wants `NO [METADATA MAXSIZE n]`. */
const SETMETADATA_LINE = /^[^ ]+ SETMETADATA /i;

const LITERAL_MARKER = /\{(\d+)(\+)?\}$/;
/** Enough trailing bytes of a discarded line to spot its literal marker. */
const TAIL_LENGTH = 24;
/** Enough leading bytes of an over-long line to read its tag. */
const HEAD_LENGTH = 256;
const LF = 0x0a;

type Mode = 'line' | 'literal' | 'discard-line' | 'discard-literal';

/**
 * Cuts the byte stream of one connection into commands (RFC 3501 §2.2, RFC 7888 LITERAL+).
 * A command is a line ending in CRLF, or a line ending in a literal marker `{n}` / `{n+}` followed
 * by n bytes and the rest of the command. Bare LF is accepted as a line end.
 *
 * Nothing here writes to the peer: `push` returns events the session answers in order.
 */
export class ImapFramer {
  private readonly limits: FramerLimits;
  private mode: Mode = 'line';
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  private lines: string[] = [];
  private literals: (Buffer | ChunkedLiteral)[] = [];
  private literalParts: Buffer[] = [];
  private literalRemaining = 0;
  private commandSize = 0;
  private discardTail = '';
  private discardRemaining = 0;

  constructor(limits: Partial<FramerLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** True while a command has started but is not complete (part of a line, or a literal pending). */
  get midCommand(): boolean {
    return this.mode !== 'line' || this.lineLength > 0 || this.lines.length > 0;
  }

  push(chunk: Buffer): FramerEvent[] {
    const events: FramerEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.mode) {
        case 'line':
          offset = this.readLine(chunk, offset, events);
          break;
        case 'literal':
          offset = this.readLiteral(chunk, offset);
          break;
        case 'discard-line':
          offset = this.discardLine(chunk, offset);
          break;
        case 'discard-literal': {
          const take = Math.min(this.discardRemaining, chunk.length - offset);
          this.discardRemaining -= take;
          offset += take;
          if (this.discardRemaining === 0) this.startDiscardLine('');
          break;
        }
      }
    }
    return events;
  }

  private readLine(chunk: Buffer, offset: number, events: FramerEvent[]): number {
    const lf = chunk.indexOf(LF, offset);
    const end = lf === -1 ? chunk.length : lf;
    // +1: a CR may still precede the LF of the next chunk.
    if (this.lineLength + (end - offset) > this.limits.maxLineLength + 1) {
      const buffered = Buffer.concat(this.lineParts);
      const head = Buffer.concat([buffered.subarray(0, HEAD_LENGTH), chunk.subarray(offset, Math.min(end, offset + HEAD_LENGTH))]);
      events.push(this.reject(head.toString('latin1'), 'Command line too long'));
      this.startDiscardLine(buffered.subarray(-TAIL_LENGTH).toString('latin1'));
      return offset;
    }
    this.lineParts.push(chunk.subarray(offset, end));
    this.lineLength += end - offset;
    if (lf === -1) return chunk.length;

    let line = Buffer.concat(this.lineParts);
    this.lineParts = [];
    this.lineLength = 0;
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    const text = line.toString('latin1');
    if (line.length > this.limits.maxLineLength) {
      events.push(this.reject(text, 'Command line too long'));
      this.afterDiscardedLine(text);
      return lf + 1;
    }
    this.commandSize += line.length + 2;

    const marker = LITERAL_MARKER.exec(text);
    if (!marker) {
      this.lines.push(text);
      events.push({ type: 'command', command: { lines: this.lines, literals: this.literals } });
      this.resetCommand();
      return lf + 1;
    }
    const size = Number(marker[1]);
    const synchronizing = marker[2] === undefined;
    const append = APPEND_LINE.test(this.lines[0] ?? text);
    const maxLiteral = append ? this.limits.maxAppendSize : this.limits.maxLiteralSize;
    const maxCommand = append ? this.limits.maxAppendCommandSize : this.limits.maxCommandSize;
    if (size > maxLiteral || this.commandSize + size > maxCommand) {
      const rejection = this.reject(text, size > maxLiteral ? 'Literal too large' : 'Command too large');
      // RFC 7889 §4: an APPEND over APPENDLIMIT is refused before its literal is read, with a
      // tagged NO [TOOBIG] (a synchronizing literal is never sent); RFC 7888 §4 keeps BAD for LITERAL+.
      if (append && synchronizing) rejection.status = 'NO';
      if (SETMETADATA_LINE.test(this.lines[0] ?? text) && synchronizing && size > maxLiteral) {
        rejection.status = 'NO';
        rejection.code = `METADATA MAXSIZE ${maxLiteral}`;
      }
      events.push(rejection);
      this.resetCommand();
      // The client waits for a continuation we do not send; a non-synchronizing literal follows anyway.
      if (!synchronizing) {
        this.mode = 'discard-literal';
        this.discardRemaining = size;
      }
      return lf + 1;
    }
    this.lines.push(text);
    this.commandSize += size;
    if (synchronizing) events.push({ type: 'continue' });
    this.literalRemaining = size;
    this.literalParts = [];
    this.mode = 'literal';
    if (size === 0) this.finishLiteral();
    return lf + 1;
  }

  private readLiteral(chunk: Buffer, offset: number): number {
    const take = Math.min(this.literalRemaining, chunk.length - offset);
    this.literalParts.push(chunk.subarray(offset, offset + take));
    this.literalRemaining -= take;
    if (this.literalRemaining === 0) this.finishLiteral();
    return offset + take;
  }

  private finishLiteral(): void {
    const length = this.literalParts.reduce((n, part) => n + part.length, 0);
    // An APPEND message stays in the chunks it arrived in (held once, streamed to the blob store).
    if (length > this.limits.maxLiteralSize) this.literals.push({ chunks: this.literalParts, length });
    else this.literals.push(this.literalParts.length === 1 ? Buffer.from(this.literalParts[0]) : Buffer.concat(this.literalParts));
    this.literalParts = [];
    this.mode = 'line';
  }

  private discardLine(chunk: Buffer, offset: number): number {
    const lf = chunk.indexOf(LF, offset);
    const end = lf === -1 ? chunk.length : lf;
    this.discardTail = (this.discardTail + chunk.subarray(Math.max(offset, end - TAIL_LENGTH), end).toString('latin1')).slice(-TAIL_LENGTH);
    if (lf === -1) return chunk.length;
    this.afterDiscardedLine(this.discardTail.endsWith('\r') ? this.discardTail.slice(0, -1) : this.discardTail);
    return lf + 1;
  }

  /** A discarded line ended: a non-synchronizing literal and the rest of its command follow. */
  private afterDiscardedLine(tail: string): void {
    this.resetCommand();
    const marker = LITERAL_MARKER.exec(tail);
    if (marker && marker[2] !== undefined) {
      this.mode = 'discard-literal';
      this.discardRemaining = Number(marker[1]);
    }
  }

  private startDiscardLine(tail: string): void {
    this.resetCommand();
    this.mode = 'discard-line';
    this.discardTail = tail;
  }

  private reject(currentLine: string, text: string): Extract<FramerEvent, { type: 'reject' }> {
    return { type: 'reject', tag: extractTag(this.lines[0] ?? currentLine), text, code: 'TOOBIG' };
  }

  private resetCommand(): void {
    this.mode = 'line';
    this.lineParts = [];
    this.lineLength = 0;
    this.lines = [];
    this.literals = [];
    this.literalParts = [];
    this.commandSize = 0;
    this.discardTail = '';
  }
}
