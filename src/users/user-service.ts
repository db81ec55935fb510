import { parseUsername, domainOf } from '../core/address';
import { InvalidInputError, NotFoundError } from '../core/errors';
import type { DomainList } from '../domains/api/domain-list';
import type { UsersRepository } from './api/users-repository';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from './password';

/** Accounts and authentication on top of the users and domains ports. */
export class UserService {
  /** Verified against when the user is unknown, so both cases cost the same time. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly users: UsersRepository,
    private readonly domains: DomainList,
  ) {
    this.dummyHash = hashPassword('postflow-timing-equalizer');
  }

  /** Creates the user or changes its password (James' `PUT /users/{user}`). */
  async upsertUser(rawUsername: string, password: unknown): Promise<string> {
    const username = parseUsername(rawUsername);
    const domain = domainOf(username) as string;
    if (!(await this.domains.containsDomain(domain))) throw new InvalidInputError(`Domain ${domain} is not managed by this server`);
    await this.users.upsertUser({ username, passwordHash: await hashPassword(password as string) });
    return username;
  }

  async removeUser(rawUsername: string): Promise<void> {
    const username = parseUsername(rawUsername);
    if (!(await this.users.getUser(username))) throw new NotFoundError(`User ${username} does not exist`);
    await this.users.removeUser(username);
  }

  async exists(address: string): Promise<boolean> {
    try {
      return (await this.users.getUser(parseUsername(address))) !== null;
    } catch {
      return false;
    }
  }

  /** Returns the canonical user name when the credentials are right, otherwise null. */
  async authenticate(rawUsername: string, password: string): Promise<string | null> {
    let username: string;
    try {
      username = parseUsername(rawUsername);
    } catch {
      await verifyPassword(await this.dummyHash, password);
      return null;
    }
    const user = await this.users.getUser(username);
    if (!user || password.length > MAX_PASSWORD_LENGTH) {
      await verifyPassword(await this.dummyHash, password);
      return null;
    }
    return (await verifyPassword(user.passwordHash, password)) ? username : null;
  }
}
