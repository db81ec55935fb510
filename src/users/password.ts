import { createHash, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { hash, verify, Algorithm } from '@node-rs/argon2';
import { InvalidInputError } from '../core/errors';

/** Bound on password length: argon2 accepts more, but a megabyte "password" is an attack, not a secret. */
export const MAX_PASSWORD_LENGTH = 1024;

/** OWASP's argon2id baseline (19 MiB, 2 iterations, 1 lane). */
const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * Prefix of hashes imported from Apache James: `{JAMES}<algorithm>/<mode>:<base64 digest>`, with
 * James' algorithm names (`SHA-512`, `SHA-256`, `SHA-1`, `MD5`, `PBKDF2-SHA512-<iterations>-<bits>`)
 * and modes `plain` or `salted` (salt = the user name, as James' DefaultUser does).
 */
export const JAMES_HASH_PREFIX = '{JAMES}';

/** James' PBKDF2 defaults (Algorithm.PBKDF2Hasher). */
const JAMES_PBKDF2_ITERATIONS = 1000;
const JAMES_PBKDF2_KEY_BITS = 512;
/** Upper bound on imported PBKDF2 iteration counts, so a crafted hash cannot stall a login. */
const MAX_PBKDF2_ITERATIONS = 1_000_000;

/** RFC 2307 / LDAP-style schemes (`{SSHA512}base64(digest || salt)`), as Dovecot and OpenLDAP write them. */
const RFC2307_SCHEMES: Record<string, { algorithm: string; length: number; salted: boolean }> = {
  '{SHA}': { algorithm: 'sha1', length: 20, salted: false },
  '{SSHA}': { algorithm: 'sha1', length: 20, salted: true },
  '{SHA256}': { algorithm: 'sha256', length: 32, salted: false },
  '{SSHA256}': { algorithm: 'sha256', length: 32, salted: true },
  '{SHA512}': { algorithm: 'sha512', length: 64, salted: false },
  '{SSHA512}': { algorithm: 'sha512', length: 64, salted: true },
};

const JAMES_DIGESTS: Record<string, string> = { 'SHA-512': 'sha512', 'SHA-256': 'sha256', 'SHA-1': 'sha1', SHA: 'sha1', MD5: 'md5' };

export function validatePassword(password: unknown): string {
  if (typeof password !== 'string' || password.length === 0) throw new InvalidInputError('The password must be a non-empty string');
  if (password.length > MAX_PASSWORD_LENGTH) throw new InvalidInputError(`The password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

/** argon2id hash of a new password (PHC string). */
export function hashPassword(password: string): Promise<string> {
  return hash(validatePassword(password), ARGON2_OPTIONS);
}

/**
 * Checks a password against a stored hash: argon2id (PHC), James' `{JAMES}` imports, or RFC 2307
 * schemes. `username` is the salt of James' salted modes. Never throws: an unreadable hash is a
 * failed check.
 */
export async function verifyPassword(passwordHash: string, password: string, username = ''): Promise<boolean> {
  try {
    if (passwordHash.startsWith('$argon2')) return await verify(passwordHash, password);
    if (passwordHash.startsWith(JAMES_HASH_PREFIX)) return verifyJamesHash(passwordHash.slice(JAMES_HASH_PREFIX.length), password, username);
    const scheme = /^\{[A-Z0-9]+\}/.exec(passwordHash)?.[0];
    if (scheme && RFC2307_SCHEMES[scheme]) return verifyRfc2307(RFC2307_SCHEMES[scheme], passwordHash.slice(scheme.length), password);
    return false;
  } catch {
    return false;
  }
}

/** True when the hash is not an argon2id hash with today's parameters: rehash it after a successful login. */
export function needsRehash(passwordHash: string): boolean {
  return !passwordHash.startsWith(`$argon2id$v=19$m=${ARGON2_OPTIONS.memoryCost},t=${ARGON2_OPTIONS.timeCost},p=${ARGON2_OPTIONS.parallelism}$`);
}

function verifyJamesHash(spec: string, password: string, username: string): boolean {
  const colon = spec.indexOf(':');
  if (colon < 0) return false;
  const [name, mode = 'plain'] = spec.slice(0, colon).split('/');
  const expected = Buffer.from(spec.slice(colon + 1).replace(/\s+/g, ''), 'base64');
  const salted = mode.toLowerCase() === 'salted';
  if (!salted && mode.toLowerCase() !== 'plain') return false;
  let actual: Buffer;
  if (name.startsWith('PBKDF2-SHA512')) {
    const [, , iterations = String(JAMES_PBKDF2_ITERATIONS), bits = String(JAMES_PBKDF2_KEY_BITS)] = name.split('-');
    const rounds = Number(iterations);
    const keyBits = Number(bits);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_PBKDF2_ITERATIONS || !Number.isInteger(keyBits) || keyBits < 8 || keyBits > 4096) return false;
    // James' PBEKeySpec takes the password as chars and the salt as ISO-8859-1 bytes; PBKDF2 in Java encodes chars as UTF-8.
    actual = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(username, 'latin1'), rounds, keyBits / 8, 'sha512');
  } else {
    const digest = JAMES_DIGESTS[name.toUpperCase()];
    if (!digest) return false;
    actual = createHash(digest).update(Buffer.from((salted ? username : '') + password, 'latin1')).digest();
  }
  return constantTimeEqual(actual, expected);
}

function verifyRfc2307(scheme: { algorithm: string; length: number; salted: boolean }, encoded: string, password: string): boolean {
  const decoded = Buffer.from(encoded, 'base64');
  if (decoded.length < scheme.length || (!scheme.salted && decoded.length !== scheme.length)) return false;
  const expected = decoded.subarray(0, scheme.length);
  const salt = decoded.subarray(scheme.length);
  const actual = createHash(scheme.algorithm).update(Buffer.from(password, 'utf8')).update(salt).digest();
  return constantTimeEqual(actual, expected);
}

/** Compares two byte strings in time independent of where they differ. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
