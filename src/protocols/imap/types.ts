import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { BlobStore } from '../../blob/api/blob-store';
import type { EventBus } from '../../events/api/event-bus';
import type { MailboxStore } from '../../mailbox/api/mailbox-store';
import type { ImapValue } from './parser';
import type { TaggedResult } from './response';
import type { ImapSession } from './session';

/** What the IMAP server needs from the rest of Postflow. */
export interface ImapDeps {
  mailboxes: MailboxStore;
  blobs: BlobStore;
  /**
   * Returns the user name the session acts as, or null when the credentials are wrong (or the
   * user may not act as `authorizationId`, the SASL authorization identity: delegation).
   */
  authenticate(username: string, password: string, remoteAddress: string, options?: { authorizationId?: string }): Promise<string | null>;
  /** False when credentials may not be sent in clear on this connection (LOGINDISABLED). Default: allowed. */
  plainTextAllowed?(remoteAddress: string, secure: boolean): boolean;
  /** Certificate for STARTTLS; absent: STARTTLS is not offered. */
  tls?: SecureContext;
  logger: Logger;
  /**
   * Mailbox event bus: while a mailbox is selected the session registers a key listener, so
   * changes by other sessions, by delivery and by other nodes reach the client on IDLE and NOOP.
   * Without it, NOOP still polls and IDLE is not advertised.
   */
  events?: Pick<EventBus, 'registerMailboxListener'>;
}

/** Connection states of RFC 3501 §3. */
export type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export const ANY_STATE: readonly ImapState[] = ['not-authenticated', 'authenticated', 'selected'];

export interface CommandContext {
  tag: string;
  /** Upper-cased command name. */
  name: string;
  args: readonly ImapValue[];
  session: ImapSession;
}

/**
 * One IMAP command (one module per command under `commands/`). The session checks `states`
 * before calling `handler`, which writes untagged responses itself and returns the tagged one.
 * Errors thrown by the handler are translated by `toTaggedResult`.
 */
export interface ImapCommand {
  name: string;
  states: readonly ImapState[];
  /** Exists only when the wired store is a MailboxManager (see `mailbox-access.ts`). */
  needsManager?: boolean;
  handler(context: CommandContext): Promise<TaggedResult>;
}
