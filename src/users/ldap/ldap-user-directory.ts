import { Client, InvalidCredentialsError, type Entry } from 'ldapts';
import type { Logger } from 'pino';
import { TemporaryError, errorMessage } from '../../core/errors';
import type { UserDirectory } from '../api/user-directory';
import { ReadOnlyDirectoryError } from '../errors';
import { MAX_PASSWORD_LENGTH } from '../password';

/** Read-only users from an LDAP directory (James' ReadOnlyUsersLDAPRepository). */
export interface LdapConfig {
  /** `ldap://host:port` or `ldaps://host:port`. */
  url: string;
  /** DN the server binds as to search users (James `principal`); empty: anonymous searches. */
  bindDn: string;
  /** Password of `bindDn` (James `credentials`). */
  bindPassword: string;
  /** Where users are searched (James `userBase`), whole subtree. */
  baseDn: string;
  /** Attribute holding the user name; `mail` for virtual hosting (user@domain logins). */
  userIdAttribute: string;
  /** Object class of user entries (James `userObjectClass`). */
  userObjectClass: string;
  /** Extra RFC 4515 filter ANDed to every user search, e.g. `(!(nsAccountLock=TRUE))`; empty for none. */
  filter: string;
  /** Bound of the TCP connect. */
  connectTimeoutMs: number;
  /** Bound of one LDAP operation. */
  timeoutMs: number;
}

/** Most users listed in one call (WebAdmin `/users`); beyond it the directory should be browsed with its own tools. */
export const LDAP_MAX_LISTED_USERS = 100_000;
/** Page size of the listing search (RFC 2696 paged results). */
const LDAP_PAGE_SIZE = 500;

/** RFC 4515 §3: escapes a value for use inside a search filter. */
export function escapeFilterValue(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return byte < 0x20 || byte > 0x7e || '*()\\'.includes(char) ? `\\${byte.toString(16).padStart(2, '0')}` : char;
    })
    .join('');
}

export class LdapUserDirectory implements UserDirectory {
  readonly kind = 'ldap';
  readonly readOnly = true;

  constructor(
    private readonly config: LdapConfig,
    private readonly logger: Logger,
  ) {}

  async contains(username: string): Promise<boolean> {
    return (await this.findDn(username)) !== null;
  }

  async list(): Promise<string[]> {
    return this.withServiceClient(async (client) => {
      const { searchEntries } = await client.search(this.config.baseDn, {
        scope: 'sub',
        filter: this.userFilter(null),
        attributes: [this.config.userIdAttribute],
        sizeLimit: LDAP_MAX_LISTED_USERS,
        paged: { pageSize: LDAP_PAGE_SIZE },
      });
      const names = new Set<string>();
      for (const entry of searchEntries) for (const value of attributeValues(entry, this.config.userIdAttribute)) names.add(value.toLowerCase());
      return [...names].sort();
    });
  }

  async verify(username: string, password: string): Promise<'ok' | 'invalid' | 'disabled'> {
    if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return 'invalid';
    const dn = await this.findDn(username);
    // An unknown user still costs one bind, against a DN that cannot exist: same round trips, same timing.
    const bindDn = dn ?? `${this.config.userIdAttribute}=postflow-no-such-user,${this.config.baseDn}`;
    const client = this.newClient();
    try {
      await client.bind(bindDn, password);
      return dn === null ? 'invalid' : 'ok';
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return 'invalid';
      throw this.unavailable(err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async setPassword(): Promise<void> {
    throw this.readOnlyError();
  }

  async setDisabled(): Promise<void> {
    throw this.readOnlyError();
  }

  async isDisabled(): Promise<boolean> {
    return false;
  }

  async remove(): Promise<void> {
    throw this.readOnlyError();
  }

  /** DN of the user's entry, or null when there is none (or more than one: ambiguous, refused). */
  private async findDn(username: string): Promise<string | null> {
    if (username.length === 0) return null;
    return this.withServiceClient(async (client) => {
      const { searchEntries } = await client.search(this.config.baseDn, {
        scope: 'sub',
        filter: this.userFilter(username),
        attributes: ['dn'],
        sizeLimit: 2,
      });
      if (searchEntries.length !== 1) {
        if (searchEntries.length > 1) this.logger.warn({ username, entries: searchEntries.length }, 'LDAP: several entries carry this user name; refusing it');
        return null;
      }
      return searchEntries[0].dn;
    });
  }

  private userFilter(username: string | null): string {
    const id = username === null ? `(${this.config.userIdAttribute}=*)` : `(${this.config.userIdAttribute}=${escapeFilterValue(username)})`;
    return `(&(objectClass=${escapeFilterValue(this.config.userObjectClass)})${id}${this.config.filter})`;
  }

  private newClient(): Client {
    return new Client({ url: this.config.url, connectTimeout: this.config.connectTimeoutMs, timeout: this.config.timeoutMs });
  }

  private async withServiceClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = this.newClient();
    try {
      if (this.config.bindDn) await client.bind(this.config.bindDn, this.config.bindPassword);
      return await work(client);
    } catch (err) {
      throw this.unavailable(err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private unavailable(err: unknown): Error {
    if (err instanceof TemporaryError) return err;
    this.logger.warn({ err: errorMessage(err), url: this.config.url }, 'LDAP directory unavailable');
    return new TemporaryError(`LDAP directory at ${this.config.url} unavailable: ${errorMessage(err)}`);
  }

  private readOnlyError(): ReadOnlyDirectoryError {
    return new ReadOnlyDirectoryError('The users repository is read-only (LDAP): manage accounts in the directory');
  }
}

function attributeValues(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return [];
  const value = entry[key];
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}
