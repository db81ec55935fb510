import type { Logger } from 'pino';
import { AlreadyExistsError, NotFoundError, PermanentError, TemporaryError } from '../../core/errors';
import { mailboxErrorCode } from '../../mailbox/api/errors';
import type { TaggedResult } from './response';

/** The command is syntactically or semantically invalid: tagged BAD. */
export class ImapBadError extends Error {
  constructor(
    message: string,
    /** Response code without brackets (RFC 5530 `CLIENTBUG`, `TOOBIG`, `LIMIT`). */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ImapBadError';
  }
}

/** The command was understood but failed: tagged NO with an optional response code. */
export class ImapNoError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ImapNoError';
  }
}

/** The peer is gone; the command stops quietly. */
export class ConnectionClosedError extends Error {
  constructor() {
    super('Connection closed');
    this.name = 'ConnectionClosedError';
  }
}

/**
 * A literal could not be sent with the announced size (blob stream failed or had another length):
 * the response stream is out of sync and the connection must be dropped.
 */
export class ResponseStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseStreamError';
  }
}

/**
 * Translates an error thrown by a command into its tagged response (the IMAP edge of
 * `src/core/errors.ts`). Internals of unexpected errors are logged, never sent.
 */
export function toTaggedResult(err: unknown, log: Logger): TaggedResult {
  if (err instanceof ImapBadError) return { status: 'BAD', code: err.code, text: err.message };
  if (err instanceof ImapNoError) return { status: 'NO', code: err.code, text: err.message };
  const mailboxCode = mailboxErrorCode(err);
  if (mailboxCode !== undefined) return { status: 'NO', code: mailboxCode, text: (err as Error).message };
  if (err instanceof NotFoundError) return { status: 'NO', code: 'NONEXISTENT', text: err.message };
  if (err instanceof AlreadyExistsError) return { status: 'NO', code: 'ALREADYEXISTS', text: err.message };
  if (err instanceof PermanentError) return { status: 'NO', text: err.message };
  if (err instanceof TemporaryError) {
    log.warn({ err }, 'temporary failure in IMAP command');
    return { status: 'NO', code: 'UNAVAILABLE', text: 'Temporary failure, try again later' };
  }
  log.error({ err }, 'unexpected error in IMAP command');
  return { status: 'NO', code: 'SERVERBUG', text: 'Internal server error' };
}
