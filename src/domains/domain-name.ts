import { domainToASCII } from 'node:url';
import { MAX_LOCAL_PART_LENGTH, parseAddress, parseDomain } from '../core/address';
import { InvalidInputError } from '../core/errors';

/**
 * RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets, so an address
 * (local@domain) is at most 254.
 */
export const MAX_ADDRESS_LENGTH = 254;

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Validates a domain name and returns its canonical form: lower-case ASCII, internationalized
 * names (IDN) converted to punycode (UTS #46, as browsers and MTAs do), trailing dot removed.
 * Throws InvalidInputError naming the input.
 */
export function normalizeDomain(input: string): string {
  if (typeof input !== 'string') throw new InvalidInputError('The domain name must be a string');
  const trimmed = input.trim();
  if (NON_ASCII.test(trimmed)) {
    const ascii = domainToASCII(trimmed);
    if (ascii === '') throw new InvalidInputError(`Invalid internationalized domain name: ${JSON.stringify(input)}`);
    return parseDomain(ascii);
  }
  return parseDomain(trimmed);
}

/**
 * Validates `local@domain` (RFC 5321/5322 limits: dot-atom local part of at most 64 octets, whole
 * address at most 254) and returns it lower-cased with an ASCII domain. Addresses are
 * case-insensitive in Postflow, as user names are in James.
 */
export function normalizeAddress(input: string): string {
  if (typeof input !== 'string') throw new InvalidInputError('The mail address must be a string');
  const trimmed = input.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) throw new InvalidInputError(`Invalid mail address: ${JSON.stringify(input)}`);
  const localPart = trimmed.slice(0, at);
  if (localPart.length > MAX_LOCAL_PART_LENGTH) throw new InvalidInputError(`The local part of ${JSON.stringify(input)} is longer than ${MAX_LOCAL_PART_LENGTH} characters`);
  const domain = normalizeDomain(trimmed.slice(at + 1));
  const address = `${parseAddress(`${localPart}@${domain}`).localPart}@${domain}`.toLowerCase();
  if (address.length > MAX_ADDRESS_LENGTH) throw new InvalidInputError(`The mail address ${JSON.stringify(input)} is longer than ${MAX_ADDRESS_LENGTH} characters`);
  return address;
}

/** `normalizeAddress` that answers null instead of throwing. */
export function tryNormalizeAddress(input: string): string | null {
  try {
    return normalizeAddress(input);
  } catch {
    return null;
  }
}

export function domainPart(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export function localPartOf(address: string): string {
  return address.slice(0, address.lastIndexOf('@'));
}
