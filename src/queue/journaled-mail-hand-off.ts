import type { Logger } from 'pino';
import { PermanentError, TemporaryError } from '../core/errors';
import type { MailReference } from '../core/mail';
import type { AcceptedMailJournal } from './accepted-mail-journal';
import type { MailQueue } from './mail-queue';

/**
 * Where a journaled mail goes when its start is refused for good (PermanentError, e.g. a value
 * Temporal rejects): the error mail repository, so an operator sees it and can reprocess it.
 */
export interface UnstartableMails {
  keep(mail: MailReference, reason: string): Promise<void>;
}

export interface HandOffOptions {
  /** Accepted mails waiting for their start at most; beyond, a hand-over fails (SMTP 451). */
  maxBacklog: number;
  /** Starts in flight at once. */
  maxConcurrentStarts: number;
  /** Waits before a failed start is tried again, by attempt; the last repeats. */
  retryDelaysMs: readonly number[];
}

/**
 * 16 starts in flight: an eager start needs a free workflow task slot, and more workflows started
 * at once than the worker runs fall back to matching (processing bench, stop 24: with 64, 77-80 %
 * of the mails started eagerly and 62-74 mails/s; with 16, 98.5-100 % and 83-90 mails/s; with 8,
 * 73-81 mails/s).
 */
export const DEFAULT_HAND_OFF_OPTIONS: HandOffOptions = { maxBacklog: 10_000, maxConcurrentStarts: 16, retryDelaysMs: [500, 2_000, 10_000, 30_000] };

/**
 * The embedded profile's hand-over of accepted mails (Postfix's queue file before its `250`): a
 * mail is written to the journal (one row, in the database's group commit shared with the other
 * writes of the moment) and the protocol answers as soon as that row is durable; its
 * processMail workflow is started right after, and the row is removed once the server has it.
 * The `250` thus waits for a local commit only, not for a round trip to Temporal under load
 * (docs/performance.md, stop 24).
 *
 * Nothing acknowledged is lost: a start that fails is retried with back-off while the row stays;
 * a start refused for good (PermanentError) moves the mail to `unstartable` (the error
 * repository) before its row goes; after a crash, `recover` queues every row left. Starting the same mail twice is harmless: its
 * workflow id is the mail's and the queue refuses a second run of it (a start that finds the
 * workflow, running or closed, counts as done).
 */
export class JournaledMailHandOff implements MailQueue {
  private readonly waiting: MailReference[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly idle: Array<() => void> = [];
  /** Mails journaled by this process (or recovered) and not yet started. */
  private backlog = 0;
  private inFlight = 0;
  private closed = false;
  private startedCount = 0;
  private unstartableCount = 0;

  /** @param queue the Temporal queue: its start must be idempotent per mail id. */
  constructor(
    private readonly journal: AcceptedMailJournal,
    private readonly queue: MailQueue,
    private readonly unstartable: UnstartableMails,
    private readonly logger: Logger,
    private readonly options: HandOffOptions = DEFAULT_HAND_OFF_OPTIONS,
  ) {}

  async enqueue(mail: MailReference): Promise<void> {
    if (this.closed) throw new TemporaryError('The server is shutting down');
    if (this.backlog >= this.options.maxBacklog) {
      throw new TemporaryError(`${this.backlog} accepted mails are waiting for their processing to start (Temporal unreachable?)`);
    }
    // The slot is taken before the write: sessions accepting at once cannot overshoot the limit.
    this.backlog++;
    try {
      await this.journal.add(mail);
    } catch (err) {
      this.backlog--;
      throw err;
    }
    this.waiting.push(mail);
    this.pump();
  }

  /** Queues for their start the mails a previous run journaled and did not start. */
  async recover(): Promise<number> {
    const left = await this.journal.list();
    for (const mail of left) {
      this.backlog++;
      this.waiting.push(mail);
    }
    if (left.length > 0) this.logger.info({ mails: left.length }, 'starting the processing of mails accepted before a restart');
    this.pump();
    return left.length;
  }

  /** Mails accepted and not yet started (waiting, in flight or waiting for a retry). */
  get pending(): number {
    return this.backlog;
  }

  /** Mails this hand-off started (tests, benchmarks). */
  get started(): number {
    return this.startedCount;
  }

  /** Mails whose start was refused for good, moved to the error repository. */
  get unstartableMails(): number {
    return this.unstartableCount;
  }

  /** Resolves once nothing is waiting or in flight (retries scheduled later excepted). */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Refuses new mails and waits (at most `timeoutMs`) for the starts in flight. Mails still
   * journaled are started by the next run's `recover`.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.waiting.length = 0;
    if (this.inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drained(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.options.maxConcurrentStarts && this.waiting.length > 0) {
      const mail = this.waiting.shift() as MailReference;
      this.inFlight++;
      void this.startOne(mail).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.waiting.length === 0) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  private async startOne(mail: MailReference): Promise<void> {
    try {
      await this.queue.enqueue(mail);
      this.startedCount++;
    } catch (err) {
      if (err instanceof PermanentError && (await this.keepUnstartable(mail, err))) return this.done(mail);
      const attempt = (this.attempts.get(mail.mailId) ?? 0) + 1;
      this.attempts.set(mail.mailId, attempt);
      const delays = this.options.retryDelaysMs;
      const delay = delays[Math.min(attempt, delays.length) - 1];
      this.logger.warn({ err, mailId: mail.mailId, attempt, retryInMs: delay }, 'cannot start the processing of an accepted mail; it stays journaled');
      if (this.closed) return;
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.waiting.push(mail);
        this.pump();
      }, delay);
      this.retryTimers.add(timer);
      return;
    }
    await this.done(mail);
  }

  private async keepUnstartable(mail: MailReference, err: PermanentError): Promise<boolean> {
    try {
      await this.unstartable.keep(mail, err.message);
    } catch (keepErr) {
      this.logger.error({ err: keepErr, mailId: mail.mailId }, 'cannot keep an unstartable mail in the error repository; it stays journaled');
      return false;
    }
    this.unstartableCount++;
    this.logger.error({ err, mailId: mail.mailId }, 'the processing of an accepted mail cannot start; the mail is kept in the error repository');
    return true;
  }

  /** The mail is started or kept elsewhere: its row goes. */
  private async done(mail: MailReference): Promise<void> {
    this.attempts.delete(mail.mailId);
    this.backlog--;
    try {
      await this.journal.remove(mail.mailId);
    } catch (err) {
      // The row only makes the next recovery try again: it finds the workflow started, or keeps
      // the mail again under the same repository key.
      this.logger.warn({ err, mailId: mail.mailId }, 'cannot remove a handled mail from the journal');
    }
  }
}
