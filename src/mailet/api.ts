import type { Logger } from 'pino';
import type { z } from 'zod';
import type { JsonValue, MailReference } from '../core/mail';
import type { OutgoingDelivery, RemoteDeliverySettings } from '../core/outgoing';
import type { BlobStore } from '../blob/api';
import type { MailboxStore } from '../mailbox/api/mailbox-store';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';
import type { ParamValue } from './graph/model';
import type { HeaderSection } from './message/header-section';

export type { MailReference } from '../core/mail';
export type { ParamValue } from './graph/model';

/** Counters a mailet may bump (exported on WebAdmin `/metrics`). */
export interface MailetMetrics {
  increment(name: string, by?: number): void;
}

/** A mail a mailet sends from the server (a bounce, a forward, a vacation reply). */
export interface NewMail {
  /** Envelope sender; null for `<>` (bounces, DSNs). */
  sender: string | null;
  recipients: string[];
  /** The whole RFC 5322 message. */
  message: Buffer;
  /** Processor it starts in (default `root`). */
  state?: string;
  attributes?: Record<string, JsonValue>;
  /**
   * Distinguishes several mails sent by one mailet run. The new mail's id derives from the
   * current mail, the step and this key, so a retried mailet never sends twice.
   */
  key?: string;
}

export type { OutgoingDelivery, RemoteDeliverySettings } from '../core/outgoing';

/**
 * What matchers and mailets may use (James `MailetContext`). One context is built per step
 * run: `sendMail` keys and the logger carry the current mail and step.
 */
export interface MailetContext {
  /** This server's name (SMTP greeting, DSN Reporting-MTA). */
  readonly hostname: string;
  /** The postmaster address (James `postmaster`). */
  readonly postmaster: string;
  isLocalDomain(domain: string): Promise<boolean>;
  /** True when the address is an existing local user. */
  isLocalUser(address: string): Promise<boolean>;
  /** The message's header section, parsed (read once per message and cached). */
  headers(mail: MailReference): Promise<HeaderSection>;
  /** The whole message. */
  message(mail: MailReference): Promise<Buffer>;
  /** Stores new message bytes (a new blob) and returns the mail pointing at them. */
  withMessage(mail: MailReference, message: Buffer): Promise<MailReference>;
  /** Rewrites the header section (body untouched) into a new blob; a no-op edit keeps the blob. */
  editHeaders(mail: MailReference, edit: (headers: HeaderSection) => void): Promise<MailReference>;
  /** Sends a new mail: starts its own processMail workflow. Returns its mail id. Idempotent. */
  sendMail(mail: NewMail): Promise<string>;
  /** Hands recipients of one domain to remote delivery (RemoteDelivery uses it). */
  deliverRemotely(delivery: OutgoingDelivery): void;
  readonly mailboxes: MailboxStore;
  readonly blobs: BlobStore;
  readonly mailRepositories: MailRepositoryStore;
  readonly logger: Logger;
  readonly metrics: MailetMetrics;
  /** Optional services (quota, spamd, DNS for DKIM, vacation…) by name; absent when not configured. */
  readonly services: MailetServices;
}

/** Optional services; each area adds its own (declaration merging is welcome). */
export interface MailetServices {
  /** True when storing `size` more bytes would exceed the user's quota. */
  isOverQuota?(user: string, size: number): Promise<boolean>;
  /** DNS TXT lookups (DKIM keys); defaults to the system resolver. */
  resolveTxt?(name: string): Promise<string[][]>;
  /** spamd (SpamAssassin) address. */
  spamd?: { host: string; port: number };
  /** Vacation settings of a user, when the vacation area provides them. */
  vacation?(user: string): Promise<VacationSettings | null>;
  /** Defaults of RemoteDelivery's parameters (configuration `remoteDelivery`). */
  remoteDelivery?: Partial<Pick<RemoteDeliverySettings, 'delaysMs' | 'maxRetries' | 'gateway'>>;
  /** True when the sender's address rewrites (RRT) into a loop (IsSenderInRRTLoop). */
  isInRrtLoop?(address: string): Promise<boolean>;
}

export interface VacationSettings {
  enabled: boolean;
  fromDate?: string | null;
  toDate?: string | null;
  subject?: string | null;
  textBody: string;
}

/** Parses a matcher's condition (the text after `=`); throws a message naming what is wrong. */
export type ConditionParser<C> = (raw: string | undefined) => C;

export interface MatcherDefinition<C = unknown> {
  name: string;
  /** Parses the condition once at start-up (default: the raw string). */
  condition?: ConditionParser<C>;
  /**
   * Returns the matched recipients (a subset of `mail.recipients`), or them with attributes to set
   * on the mail (null removes one) for the rare matcher that counts (AtMost).
   */
  match(mail: MailReference, context: MailetContext, condition: C): Promise<string[] | { recipients: string[]; attributes?: Record<string, JsonValue | null> }>;
}

export interface MailetDefinition<P = unknown> {
  name: string;
  /**
   * Typed parameters, checked at start-up. Values come from the configuration as strings,
   * numbers, booleans or string lists: use `z.coerce` where a number is expected.
   */
  params?: z.ZodType<P, z.ZodTypeDef, unknown>;
  /**
   * `local` (default): runs in its processor's batch, so it must be idempotent without a durable
   * record of its own (pure, or writes keyed by the mail). `activity`: its own durable Temporal
   * activity, retried with back-off, visible step by step in the Temporal UI.
   */
  execution?: 'local' | 'activity';
  /** Processors named by the parameters (checked to exist at start-up). */
  processors?(params: P): Array<string | null | undefined>;
  /** Returns the mail as the mailet leaves it (state, recipients, attributes, message). */
  service(mail: MailReference, context: MailetContext, params: P): Promise<MailReference>;
}

// Definitions are stored type-erased; `defineX` keeps the author's types checked.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMailet = MailetDefinition<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMatcher = MatcherDefinition<any>;

/** Declares a matcher (James `Matcher`), typed by its condition. */
export function defineMatcher<C = string | undefined>(definition: MatcherDefinition<C>): AnyMatcher {
  return definition;
}

/** Declares a mailet (James `Mailet`), typed by its parameter schema. */
export function defineMailet<P = Record<string, ParamValue>>(definition: MailetDefinition<P>): AnyMailet {
  return definition;
}

/** A copy of the mail with attributes set (`undefined` removes one). */
export function withAttributes(mail: MailReference, changes: Record<string, JsonValue | undefined>): MailReference {
  const attributes = { ...mail.attributes };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete attributes[k];
    else attributes[k] = v;
  }
  return { ...mail, attributes };
}
