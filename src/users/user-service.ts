import type { Logger } from 'pino';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../core/errors';
import type { DomainList } from '../domains/api/domain-list';
import { domainPart, normalizeAddress, tryNormalizeAddress } from '../domains/domain-name';
import type { RecipientRewriteTable } from '../rrt/recipient-rewrite-table';
import { MappingConflictError } from '../rrt/errors';
import type { DelegationStore } from './api/delegation-store';
import type { UserDirectory } from './api/user-directory';
import { ReadOnlyDirectoryError } from './errors';
import { validatePassword } from './password';

/** Accounts (James UsersRepository management + delegation) on top of the directory and domain ports. */
export class UserService {
  constructor(
    private readonly directory: UserDirectory,
    private readonly domains: DomainList,
    private readonly rrt: RecipientRewriteTable,
    private readonly delegations: DelegationStore,
    private readonly logger: Logger,
  ) {}

  get readOnly(): boolean {
    return this.directory.readOnly;
  }

  /**
   * Creates an account (James' `PUT /users/{user}`): refused when it exists unless `force`
   * (then the password is changed), when its domain is not local, and when the address is
   * already an alias or a group.
   */
  async create(rawUsername: string, password: unknown, options: { force?: boolean } = {}): Promise<string> {
    const username = normalizeAddress(rawUsername);
    if (this.directory.readOnly) throw new ReadOnlyDirectoryError(`Cannot create ${username}: the users repository (${this.directory.kind}) is read-only`);
    validatePassword(password);
    const domain = domainPart(username);
    if (!(await this.domains.containsDomain(domain))) throw new InvalidInputError(`Domain ${domain} is not managed by this server`);
    const exists = await this.directory.contains(username);
    if (exists && !options.force) throw new AlreadyExistsError(`The user '${username}' already exists`);
    if (!exists) {
      const shadowed = (await this.rrt.getStoredMappings(username)).filter((m) => m.type === 'Alias' || m.type === 'Group');
      if (shadowed.length > 0) throw new MappingConflictError(`'${username}' is already used as ${shadowed[0].type === 'Alias' ? 'an alias' : 'a group'}`);
    }
    await this.directory.setPassword(username, password as string);
    this.logger.info({ username, created: !exists }, exists ? 'user password changed' : 'user created');
    return username;
  }

  /** Removes the account and every delegation from or to it. */
  async remove(rawUsername: string): Promise<void> {
    const username = normalizeAddress(rawUsername);
    if (this.directory.readOnly) throw new ReadOnlyDirectoryError(`Cannot remove ${username}: the users repository (${this.directory.kind}) is read-only`);
    if (!(await this.directory.contains(username))) throw new NotFoundError(`User ${username} does not exist`);
    await this.directory.remove(username);
    await this.delegations.clear(username);
    for (const base of await this.delegations.delegatedUsers(username)) await this.delegations.removeAuthorizedUser(base, username);
    this.logger.info({ username }, 'user removed');
  }

  /**
   * Renames an account (James' username change, data-layer steps): the password and disabled flag
   * move, delegations from and to it move, its forwards and the aliases pointing at it follow it, and
   * a forward from the old address to the new one keeps mail flowing. Mailboxes are not moved here.
   */
  async rename(rawOld: string, rawNew: string): Promise<void> {
    const oldName = normalizeAddress(rawOld);
    const newName = normalizeAddress(rawNew);
    if (!this.directory.rename || this.directory.readOnly) throw new ReadOnlyDirectoryError(`Cannot rename ${oldName}: the users repository (${this.directory.kind}) is read-only`);
    if (!(await this.directory.contains(oldName))) throw new NotFoundError(`User ${oldName} does not exist`);
    if (await this.directory.contains(newName)) throw new AlreadyExistsError(`The user '${newName}' already exists`);
    if (!(await this.domains.containsDomain(domainPart(newName)))) throw new InvalidInputError(`Domain ${domainPart(newName)} is not managed by this server`);
    await this.directory.rename(oldName, newName);
    for (const authorized of await this.delegations.authorizedUsers(oldName)) await this.delegations.addAuthorizedUser(newName, authorized);
    await this.delegations.clear(oldName);
    for (const base of await this.delegations.delegatedUsers(oldName)) {
      await this.delegations.addAuthorizedUser(base, newName);
      await this.delegations.removeAuthorizedUser(base, oldName);
    }
    for (const mapping of (await this.rrt.getStoredMappings(oldName)).filter((m) => m.type === 'Forward')) {
      await this.rrt.removeMapping(oldName, 'Forward', mapping.value);
      await this.rrt.addForwardMapping(newName, mapping.value === oldName ? newName : mapping.value);
    }
    for (const alias of await this.rrt.listSources('Alias', oldName)) {
      await this.rrt.removeMapping(alias, 'Alias', oldName);
      await this.rrt.addAliasMapping(alias, newName);
    }
    await this.rrt.addForwardMapping(oldName, newName);
    this.logger.info({ oldName, newName }, 'user renamed');
  }

  /** True when the address is an existing account; false for anything that is not an address. */
  async exists(address: string): Promise<boolean> {
    const username = tryNormalizeAddress(address);
    return username !== null && (await this.directory.contains(username));
  }

  list(): Promise<string[]> {
    return this.directory.list();
  }

  /** WebAdmin's password check (`POST /users/{u}/verify`): unknown users and wrong passwords look the same. */
  async verifyPassword(rawUsername: string, password: string): Promise<boolean> {
    return (await this.directory.verify(normalizeAddress(rawUsername), password)) === 'ok';
  }

  async setDisabled(rawUsername: string, disabled: boolean): Promise<void> {
    const username = await this.existing(rawUsername);
    await this.directory.setDisabled(username, disabled);
    this.logger.info({ username, disabled }, disabled ? 'user disabled' : 'user enabled');
  }

  async isDisabled(rawUsername: string): Promise<boolean> {
    return this.directory.isDisabled(await this.existing(rawUsername));
  }

  // delegation (James `/users/{baseUser}/authorizedUsers`)

  async authorizedUsers(rawBaseUser: string): Promise<string[]> {
    return this.delegations.authorizedUsers(await this.existing(rawBaseUser));
  }

  /** Lets `authorizedUser` log in as and send as `baseUser`. Both must exist (404 / 400 in WebAdmin). */
  async addAuthorizedUser(rawBaseUser: string, rawAuthorizedUser: string): Promise<void> {
    const baseUser = await this.existing(rawBaseUser);
    const authorizedUser = normalizeAddress(rawAuthorizedUser);
    if (!(await this.directory.contains(authorizedUser))) throw new InvalidInputError(`The delegated user ${authorizedUser} does not exist`);
    if (authorizedUser === baseUser) throw new InvalidInputError('A user cannot delegate to themselves');
    await this.delegations.addAuthorizedUser(baseUser, authorizedUser);
    this.logger.info({ baseUser, authorizedUser }, 'delegation added');
  }

  async removeAuthorizedUser(rawBaseUser: string, rawAuthorizedUser: string): Promise<void> {
    const baseUser = await this.existing(rawBaseUser);
    const authorizedUser = normalizeAddress(rawAuthorizedUser);
    await this.delegations.removeAuthorizedUser(baseUser, authorizedUser);
    this.logger.info({ baseUser, authorizedUser }, 'delegation removed');
  }

  async clearAuthorizedUsers(rawBaseUser: string): Promise<void> {
    await this.delegations.clear(await this.existing(rawBaseUser));
  }

  /** Accounts the user may act as (delegations they received). */
  delegatedUsers(username: string): Promise<string[]> {
    return this.delegations.delegatedUsers(username.toLowerCase());
  }

  private async existing(rawUsername: string): Promise<string> {
    const username = normalizeAddress(rawUsername);
    if (!(await this.directory.contains(username))) throw new NotFoundError(`User ${username} does not exist`);
    return username;
  }
}
