import { createHash, pbkdf2Sync } from 'node:crypto';
import { hashPassword, MAX_PASSWORD_LENGTH, needsRehash, validatePassword, verifyPassword } from '../../src/users/password';

/** James' `Algorithm.digest`: base64 of the digest of (salt + password) in ISO-8859-1, MIME line breaks included. */
function jamesDigest(algorithm: string, password: string, salt: string): string {
  const base64 = createHash(algorithm).update(Buffer.from(salt + password, 'latin1')).digest('base64');
  return base64.replace(/(.{76})/g, '$1\r\n');
}

describe('passwords', () => {
  it('hashes new passwords with argon2id and never stores them in clear', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword(hash, 'correct horse')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse ')).toBe(false);
    expect(needsRehash(hash)).toBe(false);
  });

  it('refuses an empty, a non-string and an over-long password', () => {
    expect(() => validatePassword('')).toThrow(/non-empty/);
    expect(() => validatePassword(42)).toThrow(/non-empty/);
    expect(() => validatePassword('p'.repeat(MAX_PASSWORD_LENGTH + 1))).toThrow(/longer than/);
    expect(validatePassword('p'.repeat(MAX_PASSWORD_LENGTH))).toHaveLength(MAX_PASSWORD_LENGTH);
  });

  it('verifies hashes imported from James (SHA-512 and SHA-256, salted with the user name, and plain)', async () => {
    const user = 'alice@example.com';
    expect(await verifyPassword(`{JAMES}SHA-512/salted:${jamesDigest('sha512', 'secret', user)}`, 'secret', user)).toBe(true);
    expect(await verifyPassword(`{JAMES}SHA-512/salted:${jamesDigest('sha512', 'secret', user)}`, 'secret', 'bob@example.com')).toBe(false);
    expect(await verifyPassword(`{JAMES}SHA-256/salted:${jamesDigest('sha256', 'secret', user)}`, 'secret', user)).toBe(true);
    expect(await verifyPassword(`{JAMES}SHA-512/plain:${jamesDigest('sha512', 'secret', '')}`, 'secret', user)).toBe(true);
    expect(await verifyPassword(`{JAMES}SHA-512/plain:${jamesDigest('sha512', 'secret', '')}`, 'wrong', user)).toBe(false);
    const pbkdf2 = pbkdf2Sync('secret', user, 1000, 64, 'sha512').toString('base64');
    expect(await verifyPassword(`{JAMES}PBKDF2-SHA512/salted:${pbkdf2}`, 'secret', user)).toBe(true);
    expect(needsRehash(`{JAMES}SHA-512/salted:abc`)).toBe(true);
  });

  it('verifies RFC 2307 salted SHA hashes ({SSHA512}) as OpenLDAP and Dovecot write them', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const digest = createHash('sha512').update('secret').update(salt).digest();
    const hash = `{SSHA512}${Buffer.concat([digest, salt]).toString('base64')}`;
    expect(await verifyPassword(hash, 'secret')).toBe(true);
    expect(await verifyPassword(hash, 'Secret')).toBe(false);
  });

  it('treats an unreadable hash as a failed check, never as an error', async () => {
    for (const hash of ['', 'plaintext', '$argon2id$garbage', '{JAMES}MD4/plain:abc', '{JAMES}PBKDF2-SHA512-99999999/salted:abc', '{SSHA512}AAAA']) {
      await expect(verifyPassword(hash, 'secret', 'x@y.org')).resolves.toBe(false);
    }
  });
});
