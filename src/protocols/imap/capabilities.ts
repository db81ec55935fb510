import { MAX_APPEND_SIZE } from './limits';
import type { ImapState } from './types';

/** What the capability list depends on besides the state. */
export interface CapabilityContext {
  /** A mailbox event bus is wired: IDLE can push changes. */
  idle: boolean;
  /** The wired store is a MailboxManager: mailbox management, STORE, APPEND, COPY/MOVE, EXPUNGE work. */
  manager?: boolean;
  /** A certificate is configured and the connection is not encrypted yet. */
  starttls?: boolean;
  /** Plain-text credentials are refused on this connection (no TLS, not allowed by `auth.plainTextAuth`). */
  loginDisabled?: boolean;
  /** Quotas are wired (RFC 9208 GETQUOTA/GETQUOTAROOT/SETQUOTA on the STORAGE and MESSAGE resources). */
  quota?: boolean;
}

/**
 * Capabilities advertised in the given state: only what is implemented. Mailbox management,
 * CONDSTORE/QRESYNC, ACL, SORT/THREAD, METADATA, BINARY, OBJECTID (RFC 8474: MAILBOXID, EMAILID,
 * THREADID; FETCH items and SEARCH keys), SEARCHRES (RFC 5182) and IMAP4rev2 (RFC 9051, which
 * folds UIDPLUS, MOVE, …) need the MailboxManager; IDLE the event bus. IMAP4rev2 is offered beside
 * IMAP4rev1: its rules (ESEARCH answers, no RECENT, UTF-8 mailbox names, CLOSED) apply once the
 * client sends `ENABLE IMAP4rev2`. ENABLE only enables what is advertised here.
 */
export function capabilitiesFor(state: ImapState, context: CapabilityContext = { idle: false }): string[] {
  const capabilities = ['IMAP4rev1', ...(context.manager ? ['IMAP4rev2'] : []), 'LITERAL+', 'CHILDREN', 'UNSELECT', 'ENABLE', 'ID', 'NAMESPACE', 'ESEARCH', 'STATUS=SIZE', 'WITHIN'];
  if (context.idle) capabilities.push('IDLE');
  if (context.manager) {
    capabilities.push('UIDPLUS', 'MOVE', 'MULTIAPPEND', `APPENDLIMIT=${MAX_APPEND_SIZE}`, 'SPECIAL-USE', 'CREATE-SPECIAL-USE', 'LIST-EXTENDED', 'LIST-STATUS', 'CONDSTORE', 'QRESYNC', 'ACL', 'RIGHTS=kxte', 'SORT', 'SORT=DISPLAY');
    capabilities.push('THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES', 'METADATA', 'BINARY', 'OBJECTID', 'SEARCHRES');
  }
  if (context.manager && context.quota) capabilities.push('QUOTA', 'QUOTA=RES-STORAGE', 'QUOTA=RES-MESSAGE', 'QUOTASET');
  if (state !== 'not-authenticated') capabilities.push('COMPRESS=DEFLATE');
  if (state === 'not-authenticated') {
    if (context.starttls) capabilities.push('STARTTLS');
    // RFC 3501 §6.2.3 / RFC 9051: without TLS, where credentials may not travel in clear.
    if (context.loginDisabled) capabilities.push('LOGINDISABLED');
    else capabilities.push('SASL-IR', 'AUTH=PLAIN');
  }
  return capabilities;
}

/**
 * Extensions ENABLE (RFC 5161) may switch on, when they are also advertised. Upper-case; the
 * reply spells them as advertised.
 */
export const ENABLEABLE = new Set(['CONDSTORE', 'QRESYNC', 'IMAP4REV2', 'UTF8=ACCEPT']);
