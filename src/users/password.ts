import { hash, verify, Algorithm } from '@node-rs/argon2';
import { InvalidInputError } from '../core/errors';

/** Bound on password length: argon2 accepts more, but a megabyte "password" is an attack, not a secret. */
export const MAX_PASSWORD_LENGTH = 1024;

/** OWASP's argon2id baseline (19 MiB, 2 iterations, 1 lane). */
const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export function validatePassword(password: unknown): string {
  if (typeof password !== 'string' || password.length === 0) throw new InvalidInputError('The password must be a non-empty string');
  if (password.length > MAX_PASSWORD_LENGTH) throw new InvalidInputError(`The password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

export function hashPassword(password: string): Promise<string> {
  return hash(validatePassword(password), ARGON2_OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
