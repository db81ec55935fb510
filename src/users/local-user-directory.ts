import type { UsersRepository } from './api/users-repository';
import type { UserDirectory } from './api/user-directory';
import { hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyPassword } from './password';

/** Users stored by Postflow itself (SQLite or Cassandra), passwords as argon2id hashes. */
export class LocalUserDirectory implements UserDirectory {
  readonly kind = 'local';
  readonly readOnly = false;
  /** Verified against when the account is unknown, so both cases cost the same time. */
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly users: UsersRepository) {}

  async contains(username: string): Promise<boolean> {
    return (await this.users.getUser(username)) !== null;
  }

  list(): Promise<string[]> {
    return this.users.listUsers();
  }

  async verify(username: string, password: string): Promise<'ok' | 'invalid' | 'disabled'> {
    const user = await this.users.getUser(username);
    if (!user || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
      await verifyPassword(await this.timingEqualizer(), password.slice(0, MAX_PASSWORD_LENGTH) || 'x');
      return 'invalid';
    }
    if (!(await verifyPassword(user.passwordHash, password, username))) return 'invalid';
    if (user.disabled) return 'disabled';
    if (needsRehash(user.passwordHash)) {
      // Imported (James, RFC 2307) or older hashes become argon2id at the first successful login.
      await this.users.upsertUser({ ...user, passwordHash: await hashPassword(password) });
    }
    return 'ok';
  }

  async setPassword(username: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    const existing = await this.users.getUser(username);
    await this.users.upsertUser({ username, passwordHash, disabled: existing?.disabled ?? false });
  }

  async setDisabled(username: string, disabled: boolean): Promise<void> {
    const existing = await this.users.getUser(username);
    if (existing) await this.users.upsertUser({ ...existing, disabled });
  }

  async isDisabled(username: string): Promise<boolean> {
    return (await this.users.getUser(username))?.disabled ?? false;
  }

  remove(username: string): Promise<void> {
    return this.users.removeUser(username);
  }

  async rename(from: string, to: string): Promise<void> {
    const existing = await this.users.getUser(from);
    if (!existing) return;
    await this.users.upsertUser({ ...existing, username: to });
    await this.users.removeUser(from);
  }

  private timingEqualizer(): Promise<string> {
    this.dummyHash ??= hashPassword('postflow-timing-equalizer');
    return this.dummyHash;
  }
}
