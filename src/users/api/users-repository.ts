/** A stored account. The password is only ever kept as a hash (see src/users/password.ts). */
export interface StoredUser {
  username: string;
  passwordHash: string;
}

/** Accounts (James `UsersRepository`). User names are full addresses, lower-case. */
export interface UsersRepository {
  /** Creates or replaces the account's password hash. */
  upsertUser(user: StoredUser): Promise<void>;
  getUser(username: string): Promise<StoredUser | null>;
  removeUser(username: string): Promise<void>;
  listUsers(): Promise<string[]>;
}
