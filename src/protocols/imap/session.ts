import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { capabilitiesFor } from './capabilities';
import { COMMANDS } from './commands';
import { ConnectionClosedError, ResponseStreamError, toTaggedResult } from './errors';
import { ImapFramer, type FramerEvent } from './framer';
import { IDLE_TIMEOUT_MS, MAX_BAD_COMMANDS_BEFORE_AUTH, MAX_FAILED_LOGINS, SHUTDOWN_GRACE_MS } from './limits';
import { ImapParseError, parseCommand, type ParsedCommand } from './parser';
import { formatTagged, type TaggedResult } from './response';
import type { SelectedMailbox } from './selected-mailbox';
import type { ImapCommand, ImapDeps, ImapState } from './types';
import { ResponseWriter } from './writer';

/** Why `command` cannot run in `state` (the text of its tagged BAD). */
function refusal(command: ImapCommand, state: ImapState): string {
  if (state === 'not-authenticated') return 'Log in first';
  if (command.states.length === 1 && command.states[0] === 'not-authenticated') return 'Already authenticated';
  if (state === 'authenticated' && command.states.includes('selected')) return 'No mailbox selected';
  return 'Not allowed in this state';
}

/**
 * One IMAP connection: reads commands through the framer, one at a time, checks the state
 * machine of RFC 3501 §3 and dispatches to the command modules. Reading pauses while commands
 * wait to be handled, so a pipelining peer cannot queue unbounded work.
 */
export class ImapSession {
  state: ImapState = 'not-authenticated';
  /** Canonical name of the authenticated user. */
  user: string | null = null;
  selected: SelectedMailbox | null = null;
  readonly writer: ResponseWriter;
  /** Resolves once the socket is closed. */
  readonly closed: Promise<void>;

  private readonly framer = new ImapFramer();
  private readonly pending: FramerEvent[] = [];
  private wakeUp: (() => void) | null = null;
  private inputEnded = false;
  private closingReason: string | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private consecutiveBadCommands = 0;
  private failedLogins = 0;

  constructor(
    private readonly socket: Socket,
    readonly deps: ImapDeps,
    public log: Logger,
    readonly remoteAddress: string,
  ) {
    this.writer = new ResponseWriter(socket);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onInputEnded());
    socket.on('close', () => {
      this.onInputEnded();
      if (this.graceTimer) clearTimeout(this.graceTimer);
    });
    socket.on('error', (err) => this.log.debug({ err }, 'IMAP socket error'));
    socket.setTimeout(IDLE_TIMEOUT_MS, () => this.shutdown('Autologout; idle for too long'));
  }

  /** Serves the connection until it ends; never rejects. */
  async run(): Promise<void> {
    try {
      await this.writer.line(`* OK [CAPABILITY ${this.capabilities().join(' ')}] Postflow IMAP ready`);
      for (let event = await this.nextEvent(); event !== null; event = await this.nextEvent()) {
        await this.handle(event);
      }
      if (this.closingReason !== null && this.state !== 'logout') await this.writer.line(`* BYE ${this.closingReason}`);
      this.finish();
    } catch (err) {
      if (!(err instanceof ConnectionClosedError)) {
        this.log.error({ err }, err instanceof ResponseStreamError ? 'IMAP response stream broken, dropping connection' : 'IMAP session failed');
      }
      this.socket.destroy();
    }
  }

  /**
   * Ends the session with `* BYE reason` once the command in progress (if any) completed; the
   * socket is destroyed when that takes longer than SHUTDOWN_GRACE_MS.
   */
  shutdown(reason: string): void {
    if (this.closingReason === null) this.closingReason = reason;
    this.startGraceTimer();
    this.wake();
  }

  capabilities(): string[] {
    return capabilitiesFor(this.state);
  }

  async untagged(text: string): Promise<void> {
    await this.writer.line(`* ${text}`);
  }

  /**
   * Sends a continuation request and returns the next line of the client (for SASL exchanges),
   * or null when no plain line came (connection closing, over-long line, literal).
   */
  async readContinuation(prompt: string): Promise<string | null> {
    await this.writer.line(`+ ${prompt}`);
    const event = await this.nextEvent();
    if (event?.type === 'command' && event.command.lines.length === 1) return event.command.lines[0];
    return null;
  }

  loggedIn(user: string): void {
    this.user = user;
    this.state = 'authenticated';
    this.log = this.log.child({ user });
    this.log.info('IMAP login');
  }

  /** Counts a failed login; the session ends after MAX_FAILED_LOGINS. */
  loginFailed(): void {
    this.failedLogins++;
    if (this.failedLogins >= MAX_FAILED_LOGINS) this.closingReason ??= 'Too many failed login attempts';
  }

  select(mailbox: SelectedMailbox): void {
    this.selected = mailbox;
    this.state = 'selected';
  }

  unselect(): void {
    this.selected = null;
    if (this.state === 'selected') this.state = 'authenticated';
  }

  logout(): void {
    this.selected = null;
    this.state = 'logout';
  }

  private async handle(event: FramerEvent): Promise<void> {
    if (event.type === 'continue') {
      await this.writer.line('+ Ready for literal data');
      return;
    }
    if (event.type === 'reject') {
      await this.complete(event.tag, { status: 'BAD', text: event.text });
      return;
    }
    let command: ParsedCommand;
    try {
      command = parseCommand(event.command);
    } catch (err) {
      if (!(err instanceof ImapParseError)) throw err;
      await this.complete(err.tag, { status: 'BAD', text: err.message });
      return;
    }
    await this.complete(command.tag, await this.dispatch(command));
  }

  private async dispatch({ tag, name, args }: ParsedCommand): Promise<TaggedResult> {
    const command = COMMANDS.get(name);
    if (!command) return { status: 'BAD', text: 'Unknown command' };
    if (!command.states.includes(this.state)) return { status: 'BAD', text: `${name}: ${refusal(command, this.state)}` };
    this.log.debug({ tag, command: name }, 'IMAP command');
    try {
      return await command.handler({ tag, name, args, session: this });
    } catch (err) {
      if (err instanceof ConnectionClosedError || err instanceof ResponseStreamError) throw err;
      return toTaggedResult(err, this.log.child({ tag, command: name }));
    }
  }

  private async complete(tag: string | null, result: TaggedResult): Promise<void> {
    await this.writer.line(tag === null ? formatTagged('*', { status: result.status, text: result.text }) : formatTagged(tag, result));
    if (result.status !== 'BAD') {
      this.consecutiveBadCommands = 0;
    } else if (this.state === 'not-authenticated' && ++this.consecutiveBadCommands >= MAX_BAD_COMMANDS_BEFORE_AUTH) {
      this.closingReason ??= 'Too many invalid commands';
    }
  }

  /** The next event to handle, or null when the session must end. */
  private async nextEvent(): Promise<FramerEvent | null> {
    for (;;) {
      if (this.closingReason !== null || this.state === 'logout') return null;
      const event = this.pending.shift();
      if (event) return event;
      if (this.inputEnded) return null;
      this.socket.resume();
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  private onData(chunk: Buffer): void {
    for (const event of this.framer.push(chunk)) this.pending.push(event);
    if (this.pending.length > 0) {
      this.socket.pause();
      this.wake();
    }
  }

  private onInputEnded(): void {
    this.inputEnded = true;
    this.wake();
  }

  private wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
  }

  private finish(): void {
    this.socket.end();
    this.startGraceTimer();
  }

  private startGraceTimer(): void {
    if (this.graceTimer || this.socket.destroyed) return;
    this.graceTimer = setTimeout(() => this.socket.destroy(), SHUTDOWN_GRACE_MS);
    this.graceTimer.unref();
  }
}
