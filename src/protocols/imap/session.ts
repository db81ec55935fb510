import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { createDeflateRaw, createInflateRaw, type InflateRaw } from 'node:zlib';
import type { Logger } from 'pino';
import type { Registration } from '../../events/api/event-bus';
import { INBOX, type UidRange } from '../../mailbox/api/mailbox-store';
import { capabilitiesFor } from './capabilities';
import { COMMANDS } from './commands';
import { ConnectionRegistry } from './connection-registry';
import { mailboxManager } from './mailbox-access';
import type { MailboxManager } from '../../mailbox/api/mailbox-manager';
import { ConnectionClosedError, ResponseStreamError, toTaggedResult } from './errors';
import { ImapFramer, type FramerEvent } from './framer';
import { COMMAND_COMPLETION_TIMEOUT_MS, IDLE_TIMEOUT_MS, MAX_BAD_COMMANDS_BEFORE_AUTH, MAX_FAILED_LOGINS, SHUTDOWN_GRACE_MS } from './limits';
import { ImapParseError, parseCommand, type ParsedCommand } from './parser';
import { formatFlags, formatTagged, type TaggedResult } from './response';
import { formatNumberSet } from './search/query';
import type { SelectedMailbox } from './selected-mailbox';
import type { ImapCommand, ImapDeps, ImapState } from './types';
import { ResponseWriter } from './writer';

export interface SessionTimeouts {
  /** Autologout after this much inactivity (RFC 3501 §5.4: at least 30 minutes). */
  idleMs: number;
  /** A started command must be complete within this time. */
  commandCompletionMs: number;
}

const DEFAULT_TIMEOUTS: SessionTimeouts = { idleMs: IDLE_TIMEOUT_MS, commandCompletionMs: COMMAND_COMPLETION_TIMEOUT_MS };

/** Ascending UIDs as contiguous ranges. */
function toRanges(uids: readonly number[]): UidRange[] {
  const ranges: UidRange[] = [];
  for (const uid of uids) {
    const last = ranges[ranges.length - 1];
    if (last && uid === last.to + 1) last.to = uid;
    else ranges.push({ from: uid, to: uid });
  }
  return ranges;
}

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

  private framer = new ImapFramer();
  private readonly pending: FramerEvent[] = [];
  private wakeUp: (() => void) | null = null;
  private inputEnded = false;
  private closingReason: string | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private consecutiveBadCommands = 0;
  private readonly enabled = new Set<string>();
  private registration: Registration | null = null;
  private failedLogins = 0;
  private commandTimer: NodeJS.Timeout | null = null;
  private inflate: InflateRaw | null = null;
  private cachedManager: { value: MailboxManager | null } | null = null;
  /** Runs once the tagged response of the current command is written (COMPRESS switches then). */
  private afterTagged: (() => void) | null = null;

  constructor(
    private socket: Socket,
    readonly deps: ImapDeps,
    public log: Logger,
    readonly remoteAddress: string,
    private readonly registry: ConnectionRegistry = new ConnectionRegistry(),
    private readonly timeouts: SessionTimeouts = DEFAULT_TIMEOUTS,
  ) {
    this.writer = new ResponseWriter(socket);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('end', () => this.onInputEnded());
    socket.on('close', () => {
      this.onInputEnded();
      this.unselect();
      if (this.user !== null) this.registry.releaseUser(this.user);
      if (this.graceTimer) clearTimeout(this.graceTimer);
      if (this.commandTimer) clearTimeout(this.commandTimer);
    });
    socket.on('error', (err) => this.log.debug({ err }, 'IMAP socket error'));
    socket.setTimeout(timeouts.idleMs, () => this.shutdown('Autologout; idle for too long'));
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
    return capabilitiesFor(this.state, {
      idle: this.deps.events !== undefined,
      manager: this.manager !== null,
      starttls: this.deps.tls !== undefined && !this.secure,
      loginDisabled: !this.plainTextAllowed,
      quota: this.deps.quota !== undefined,
    });
  }

  /** True on an encrypted connection (implicit TLS, or after STARTTLS). */
  get secure(): boolean {
    return this.socket instanceof TLSSocket && this.socket.encrypted === true;
  }

  /** Whether LOGIN and AUTHENTICATE PLAIN are allowed on this connection (else LOGINDISABLED). */
  get plainTextAllowed(): boolean {
    return this.deps.plainTextAllowed?.(this.remoteAddress, this.secure) ?? true;
  }

  /**
   * RFC 3501 §6.2.1: negotiates TLS right after STARTTLS's tagged OK. Whatever the client sent after
   * the STARTTLS line is discarded, so nothing injected in clear runs inside TLS (CVE-2011-0411).
   */
  startTls(context: SecureContext): void {
    this.afterTagged = () => {
      const plain = this.socket;
      plain.removeAllListeners('data');
      plain.setTimeout(0);
      this.pending.length = 0;
      this.framer = new ImapFramer();
      const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
      this.socket = secure;
      this.writer.useSocket(secure);
      secure.on('data', (chunk: Buffer) => this.onSocketData(chunk));
      secure.on('end', () => this.onInputEnded());
      secure.on('close', () => plain.destroy());
      secure.on('error', (err) => {
        this.log.info({ err }, 'IMAP TLS negotiation failed');
        plain.destroy();
      });
      secure.setTimeout(this.timeouts.idleMs, () => this.shutdown('Autologout; idle for too long'));
    };
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

  /** Enters the authenticated state; `NO [LIMIT]` (and no state change) when the user has too many connections. */
  loggedIn(user: string): void {
    this.registry.claimUser(user);
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

  /**
   * Enters the selected state and registers the mailbox's key listener on the event bus, so
   * changes made elsewhere are reported on NOOP and IDLE.
   */
  async select(mailbox: SelectedMailbox): Promise<void> {
    this.unselect();
    this.selected = mailbox;
    this.state = 'selected';
    const events = this.deps.events;
    if (!events) return;
    const registration = await events.registerMailboxListener(mailbox.mailbox.id, {
      handle: async (event) => mailbox.notify(event),
    });
    if (this.selected === mailbox && !this.socket.destroyed) this.registration = registration;
    else void registration.unregister().catch((err: unknown) => this.log.warn({ err }, 'IMAP listener unregistration failed'));
  }

  unselect(): void {
    this.selected = null;
    if (this.state === 'selected') this.state = 'authenticated';
    const registration = this.registration;
    this.registration = null;
    if (registration) void registration.unregister().catch((err: unknown) => this.log.warn({ err }, 'IMAP listener unregistration failed'));
  }

  logout(): void {
    this.unselect();
    this.state = 'logout';
  }

  /** The full mailbox model, when the wired store implements it. */
  get manager(): MailboxManager | null {
    this.cachedManager ??= { value: mailboxManager(this.deps.mailboxes) };
    return this.cachedManager.value;
  }

  /**
   * James provisions a user's mailboxes at first login: a user created through WebAdmin has no
   * INBOX until mail arrives, and clients expect one. A failure is logged, not fatal to the login.
   */
  private async provisionInbox(): Promise<void> {
    const manager = this.manager;
    if (!manager || this.user === null) return;
    try {
      await manager.ensureMailbox(this.user, INBOX);
    } catch (err) {
      this.log.warn({ err }, 'IMAP could not provision the INBOX at login');
    }
  }

  /** The manager, for commands declared `needsManager` (the dispatcher checked it exists). */
  requireManager(): MailboxManager {
    return this.manager as MailboxManager;
  }

  /** Extensions switched on by ENABLE (RFC 5161), upper-case. */
  isEnabled(extension: string): boolean {
    return this.enabled.has(extension);
  }

  /** Mailbox names travel in UTF-8 rather than modified UTF-7 (IMAP4rev2 or UTF8=ACCEPT enabled, RFC 9051 §5.1, RFC 6855). */
  utf8Names(): boolean {
    return this.enabled.has('IMAP4REV2') || this.enabled.has('UTF8=ACCEPT');
  }

  enable(extension: string): void {
    this.enabled.add(extension.toUpperCase());
    // RFC 7162 §3.2.3: enabling QRESYNC implies CONDSTORE.
    if (extension.toUpperCase() === 'QRESYNC') this.enabled.add('CONDSTORE');
  }

  /**
   * Reports what changed in the selected mailbox since the last report: EXPUNGE (highest first),
   * EXISTS, then FETCH FLAGS of messages whose flags were changed (by events). Used by NOOP,
   * CHECK and IDLE (RFC 3501 §7: untagged updates are sent while no command is pending on them).
   */
  async reportChanges(): Promise<void> {
    const view = this.selected;
    if (!view) return;
    const flagUids = view.takeFlagChanges();
    const changes = view.update(await this.deps.mailboxes.listUids(view.mailbox.id));
    await this.reportExpunged(changes.expunged, changes.expungedUids);
    if (changes.exists !== null) await this.untagged(`${changes.exists} EXISTS`);
    if (flagUids.length === 0) return;
    const condstore = this.isEnabled('CONDSTORE');
    for (const range of toRanges(flagUids)) {
      for await (const message of this.deps.mailboxes.listMessages(view.mailbox.id, range)) {
        const sequence = view.sequenceOf(message.uid);
        if (sequence === null) continue;
        const modSeq = condstore ? ` MODSEQ (${message.modSeq})` : '';
        await this.untagged(`${sequence} FETCH (UID ${message.uid} FLAGS ${formatFlags(message.flags)}${modSeq})`);
      }
    }
  }

  /** Whether COMPRESS=DEFLATE is active. */
  get compressed(): boolean {
    return this.inflate !== null;
  }

  /**
   * Switches both directions to raw DEFLATE (RFC 4978) right after the tagged OK of COMPRESS.
   * Any byte received after the COMPRESS line is compressed input.
   */
  startCompression(): void {
    this.afterTagged = () => {
      const inflate = createInflateRaw();
      inflate.on('data', (chunk: Buffer) => this.onData(chunk));
      inflate.on('error', (err) => {
        this.log.info({ err }, 'IMAP invalid compressed input');
        this.socket.destroy();
      });
      this.inflate = inflate;
      const deflate = createDeflateRaw();
      deflate.on('error', (err) => {
        this.log.warn({ err }, 'IMAP compression failed');
        this.socket.destroy();
      });
      this.writer.compressWith(deflate);
    };
  }

  /**
   * Reports removed messages: `* n EXPUNGE` per sequence number (highest first), or one
   * `* VANISHED uid-set` once QRESYNC is enabled (RFC 7162 §3.2.10).
   */
  async reportExpunged(sequences: readonly number[], uids: readonly number[]): Promise<void> {
    if (sequences.length === 0) return;
    if (this.isEnabled('QRESYNC')) {
      await this.untagged(`VANISHED ${formatNumberSet([...uids].sort((a, b) => a - b))}`);
      return;
    }
    for (const sequence of sequences) await this.untagged(`${sequence} EXPUNGE`);
  }

  /**
   * The next framer event, for commands that read from the client while they run (IDLE's DONE,
   * SASL exchanges). Null when the session ends.
   */
  readNextEvent(): Promise<FramerEvent | null> {
    return this.nextEvent();
  }

  private async handle(event: FramerEvent): Promise<void> {
    if (event.type === 'continue') {
      await this.writer.line('+ Ready for literal data');
      return;
    }
    if (event.type === 'reject') {
      await this.complete(event.tag, { status: event.status ?? 'BAD', code: event.code, text: event.text });
      return;
    }
    let command: ParsedCommand;
    try {
      command = parseCommand(event.command);
    } catch (err) {
      if (!(err instanceof ImapParseError)) throw err;
      await this.complete(err.tag, { status: 'BAD', code: 'CLIENTBUG', text: err.message });
      return;
    }
    await this.complete(command.tag, await this.dispatch(command));
  }

  private async dispatch({ tag, name, args }: ParsedCommand): Promise<TaggedResult> {
    const command = COMMANDS.get(name);
    if (!command || (command.needsManager && this.manager === null)) return { status: 'BAD', text: 'Unknown command' };
    if (!command.states.includes(this.state)) return { status: 'BAD', code: 'CLIENTBUG', text: `${name}: ${refusal(command, this.state)}` };
    this.log.debug({ tag, command: name }, 'IMAP command');
    try {
      const before = this.state;
      const result = await command.handler({ tag, name, args, session: this });
      if (before === 'not-authenticated' && this.state === 'authenticated') await this.provisionInbox();
      return result;
    } catch (err) {
      if (err instanceof ConnectionClosedError || err instanceof ResponseStreamError) throw err;
      return toTaggedResult(err, this.log.child({ tag, command: name }));
    }
  }

  private async complete(tag: string | null, result: TaggedResult): Promise<void> {
    await this.writer.line(formatTagged(tag ?? '*', result, !this.isEnabled('IMAP4REV2')));
    const after = this.afterTagged;
    this.afterTagged = null;
    if (result.status === 'OK') after?.();
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
      this.inflate?.resume();
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  /** Bytes from the peer: inflated first once COMPRESS is active. */
  private onSocketData(chunk: Buffer): void {
    if (this.inflate) this.inflate.write(chunk);
    else this.onData(chunk);
  }

  private onData(chunk: Buffer): void {
    for (const event of this.framer.push(chunk)) this.pending.push(event);
    if (this.framer.midCommand) {
      this.commandTimer ??= setTimeout(() => {
        this.log.info('IMAP command not completed in time');
        this.shutdown('Timed out waiting for the rest of the command');
      }, this.timeouts.commandCompletionMs);
    } else if (this.commandTimer) {
      clearTimeout(this.commandTimer);
      this.commandTimer = null;
    }
    if (this.pending.length > 0) {
      this.socket.pause();
      // Inflated input is paused too: a small compressed chunk may expand a lot (zip bomb).
      this.inflate?.pause();
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
    this.writer.end();
    this.startGraceTimer();
  }

  private startGraceTimer(): void {
    if (this.graceTimer || this.socket.destroyed) return;
    this.graceTimer = setTimeout(() => this.socket.destroy(), SHUTDOWN_GRACE_MS);
    this.graceTimer.unref();
  }
}
