import type { BlobReferenceSource, BlobStore } from '../blob/api';
import type { DomainList } from '../domains/api/domain-list';
import type { EventBus } from '../events/api/event-bus';
import type { EventDeadLetters } from '../events/api/event-dead-letters';
import type { MailboxManager } from '../mailbox/api/mailbox-manager';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';
import type { RecipientRewriteTableStore } from '../rrt/api/recipient-rewrite-table-store';
import type { DelegationStore } from '../users/api/delegation-store';
import type { UsersRepository } from '../users/api/users-repository';

/** One entry of WebAdmin's `/healthcheck` (James' JSON shape). */
export interface HealthCheck {
  componentName: string;
  status: 'healthy' | 'degraded' | 'unhealthy';
  cause: string | null;
}

/** Every port of one profile, built once at start-up and shared by protocols and activities. */
export interface Backends {
  readonly profile: 'embedded' | 'distributed';
  readonly blobs: BlobStore;
  /** The profile's metadata store as a source of blob references, for blob garbage collection. */
  readonly blobReferences?: BlobReferenceSource;
  /** The mailbox model (rights, events); also the owner-scoped MailboxStore of LocalDelivery and IMAP. */
  readonly mailboxes: MailboxManager;
  readonly users: UsersRepository;
  readonly domains: DomainList;
  /** Recipient rewrite table storage (aliases, forwards, groups, domain mappings…). */
  readonly rrt: RecipientRewriteTableStore;
  /** Who may act as whom (WebAdmin `/users/{u}/authorizedUsers`). */
  readonly delegations: DelegationStore;
  readonly mailRepositories: MailRepositoryStore;
  readonly events: EventBus;
  /** Events group listeners failed to handle after their retries (WebAdmin `/events/deadLetter`). */
  readonly deadLetters: EventDeadLetters;
  checkHealth(): Promise<HealthCheck[]>;
  close(): Promise<void>;
}
