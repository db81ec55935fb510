/** A stored account. The password is only ever kept as a hash (see src/users/password.ts). */
export interface StoredUser {
  username: string;
  passwordHash: string;
  /** A disabled account exists (mail is still delivered) but cannot log in. */
  disabled?: boolean;
}

/** Accounts (James `UsersRepository` storage). User names are full addresses, lower-case. */
export interface UsersRepository {
  /** Creates or replaces the account (hash and disabled flag). */
  upsertUser(user: StoredUser): Promise<void>;
  /** The account, `disabled` always set; null when it does not exist. */
  getUser(username: string): Promise<StoredUser | null>;
  removeUser(username: string): Promise<void>;
  /** Every user name, sorted (binary order). */
  listUsers(): Promise<string[]>;
}
