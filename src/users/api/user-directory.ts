/**
 * Where accounts live and how credentials are checked: the local repository (SQLite/Cassandra,
 * argon2id hashes) or a read-only LDAP directory. Protocols and WebAdmin only see this port.
 * User names are full addresses, lower-case (virtual hosting).
 */
export interface UserDirectory {
  /** `local` or `ldap`; shown in logs and errors. */
  readonly kind: string;
  /** True when accounts cannot be created, changed or removed through Postflow (LDAP). */
  readonly readOnly: boolean;
  /** True when the account exists (enabled or not). */
  contains(username: string): Promise<boolean>;
  /** Every user name, sorted. */
  list(): Promise<string[]>;
  /**
   * Checks the password. `ok` only for an existing, enabled account with the right password.
   * Takes about the same time whether the account exists or not.
   */
  verify(username: string, password: string): Promise<'ok' | 'invalid' | 'disabled'>;
  /** Creates the account or replaces its password. Throws ReadOnlyDirectoryError when read-only. */
  setPassword(username: string, password: string): Promise<void>;
  setDisabled(username: string, disabled: boolean): Promise<void>;
  isDisabled(username: string): Promise<boolean>;
  remove(username: string): Promise<void>;
  /** Moves the account (password hash, disabled flag) to a new name; writable directories only. */
  rename?(from: string, to: string): Promise<void>;
  close?(): Promise<void>;
}
