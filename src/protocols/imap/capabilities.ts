import type { ImapState } from './types';

/**
 * Capabilities advertised in the given state: only what is implemented. No LOGINDISABLED (LOGIN
 * works), no STARTTLS (not implemented yet).
 */
export function capabilitiesFor(state: ImapState): string[] {
  const capabilities = ['IMAP4rev1', 'LITERAL+', 'CHILDREN', 'UNSELECT'];
  if (state === 'not-authenticated') capabilities.push('SASL-IR', 'AUTH=PLAIN');
  return capabilities;
}
