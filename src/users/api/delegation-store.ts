/**
 * Delegation (James `DelegationStore`): a base user lets other users log in as them and send as
 * them. User names are full addresses, lower-case.
 */
export interface DelegationStore {
  /** Lets `authorizedUser` act as `baseUser`; adding an existing delegation is a no-op. */
  addAuthorizedUser(baseUser: string, authorizedUser: string): Promise<void>;
  /** Removing a missing delegation is a no-op. */
  removeAuthorizedUser(baseUser: string, authorizedUser: string): Promise<void>;
  /** Users allowed to act as `baseUser`, sorted. */
  authorizedUsers(baseUser: string): Promise<string[]>;
  /** Accounts `authorizedUser` may act as, sorted. */
  delegatedUsers(authorizedUser: string): Promise<string[]>;
  /** Removes every delegation of `baseUser`. */
  clear(baseUser: string): Promise<void>;
}
