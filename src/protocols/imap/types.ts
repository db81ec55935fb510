import type { Logger } from 'pino';
import type { BlobStore } from '../../blob/api/blob-store';
import type { MailboxStore } from '../../mailbox/api/mailbox-store';
import type { ImapValue } from './parser';
import type { TaggedResult } from './response';
import type { ImapSession } from './session';

/** What the IMAP server needs from the rest of Postflow. */
export interface ImapDeps {
  mailboxes: MailboxStore;
  blobs: BlobStore;
  /** Returns the canonical user name, or null when the credentials are wrong. */
  authenticate(username: string, password: string, remoteAddress: string): Promise<string | null>;
  logger: Logger;
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
  handler(context: CommandContext): Promise<TaggedResult>;
}
