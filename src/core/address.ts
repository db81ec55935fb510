import { InvalidInputError } from './errors';

/** RFC 5321 §4.5.3.1: limits on path elements. */
export const MAX_LOCAL_PART_LENGTH = 64;
export const MAX_DOMAIN_LENGTH = 255;
/** RFC 1035 §2.3.4: a label is at most 63 octets. */
export const MAX_LABEL_LENGTH = 63;

/** Dot-separated labels of 1–63 letters, digits and inner hyphens (RFC 1035 §2.3.1, lower case). */
const DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
// RFC 5322 dot-atom local part (atext), which covers every address a user account can have.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** Validates and lower-cases a domain name (ASCII / punycode). Throws InvalidInputError. */
export function parseDomain(input: string): string {
  let domain = input.trim().toLowerCase();
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (domain.length === 0) throw new InvalidInputError('Domain name is empty');
  if (domain.length > MAX_DOMAIN_LENGTH) throw new InvalidInputError(`Domain name is longer than ${MAX_DOMAIN_LENGTH} characters`);
  // One expression for every label (≈ 50 domains are parsed per 10-recipient mail).
  if (!DOMAIN.test(domain)) throw new InvalidInputError(`Invalid domain name: ${JSON.stringify(input)}`);
  return domain;
}

export interface MailAddress {
  localPart: string;
  domain: string;
}

/** Parses `local@domain`; the domain is lower-cased, the local part kept as given. */
export function parseAddress(input: string): MailAddress {
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) throw new InvalidInputError(`Invalid mail address: ${JSON.stringify(input)}`);
  const localPart = input.slice(0, at);
  if (localPart.length > MAX_LOCAL_PART_LENGTH || !LOCAL_PART.test(localPart)) {
    throw new InvalidInputError(`Invalid local part in mail address: ${JSON.stringify(input)}`);
  }
  return { localPart, domain: parseDomain(input.slice(at + 1)) };
}

export function formatAddress(address: MailAddress): string {
  return `${address.localPart}@${address.domain}`;
}

/** Canonical user name: James uses the full address, lower-cased, as the user name in virtual hosting. */
export function parseUsername(input: string): string {
  return formatAddress(parseAddress(input.trim())).toLowerCase();
}

/** Domain of an address, or null when the string is not an address. */
export function domainOf(address: string): string | null {
  try {
    return parseAddress(address).domain;
  } catch {
    return null;
  }
}
