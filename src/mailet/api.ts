import type { Logger } from 'pino';
import type { MailReference } from '../core/mail';
import type { BlobStore } from '../blob/api';
import type { MailboxStore } from '../mailbox/api/mailbox-store';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';

/** What matchers and mailets may use (James `MailetContext`). */
export interface MailetContext {
  isLocalDomain(domain: string): Promise<boolean>;
  /** True when the address is an existing local user. */
  isLocalUser(address: string): Promise<boolean>;
  readonly mailboxes: MailboxStore;
  readonly blobs: BlobStore;
  readonly mailRepositories: MailRepositoryStore;
  readonly logger: Logger;
}

export interface MatcherDefinition {
  name: string;
  /** Returns the matched recipients. `condition` is the text after `=` in `HostIs=example.com`. */
  match(mail: MailReference, context: MailetContext, condition: string | undefined): Promise<string[]>;
}

export interface MailetDefinition {
  name: string;
  /** True when the mailet has side effects that deserve a durable activity of its own. */
  durable: boolean;
  /** Checks parameters at start-up; throws with a message naming the bad parameter. */
  validate?(params: Record<string, string>): void;
  /** Returns the mail as left by the mailet (state, recipients, attributes). Must be idempotent. */
  service(mail: MailReference, context: MailetContext, params: Record<string, string>): Promise<MailReference>;
}

export function defineMatcher(definition: MatcherDefinition): MatcherDefinition {
  return definition;
}

export function defineMailet(definition: MailetDefinition): MailetDefinition {
  return definition;
}
