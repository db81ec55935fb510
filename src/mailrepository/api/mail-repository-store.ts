import type { MailReference } from '../../core/mail';

/** James repository URLs look like `cassandra://var/mail/error/`; we key by the path part. */
export const RELAY_DENIED_REPOSITORY = 'var/mail/relay-denied/';
export const ERROR_REPOSITORY = 'var/mail/error/';
export const ADDRESS_ERROR_REPOSITORY = 'var/mail/address-error/';
export const RRT_ERROR_REPOSITORY = 'var/mail/rrt-error/';

export interface StoredMail {
  /** Unique within the repository (the mail key: mailId/name). */
  key: string;
  mail: MailReference;
  storedAt: Date;
}

export interface KeyPage {
  /** Only keys after this one (keyset paging: stable while mails are added and removed). */
  after?: string;
  offset?: number;
  limit?: number;
}

/** Mail repositories: where mails rest for an operator to browse and reprocess. */
export interface MailRepositoryStore {
  /** Stores (or replaces, when the key exists) a mail. Idempotent. */
  store(repository: string, key: string, mail: MailReference): Promise<void>;
  get(repository: string, key: string): Promise<StoredMail | null>;
  /** Keys in ascending order; `offset`/`limit` page through them (WebAdmin browse). */
  listKeys(repository: string, page?: KeyPage): Promise<string[]>;
  size(repository: string): Promise<number>;
  remove(repository: string, key: string): Promise<void>;
  listRepositories(): Promise<string[]>;
}
