import type { AcceptedMailJournal } from '../queue/accepted-mail-journal';
import type { BlobReferenceSource, BlobStore } from '../blob/api';
import type { DomainList } from '../domains/api/domain-list';
import type { EventBus } from '../events/api/event-bus';
import type { EventDeadLetters } from '../events/api/event-dead-letters';
import type { LoginFailureStore } from '../auth/api/login-failure-store';
import type { VacationStore } from '../vacation/api/vacation-store';
import type { MailboxManager } from '../mailbox/api/mailbox-manager';
import type { MailboxMapper } from '../mailbox/api/mailbox-mapper';
import type { EventStore } from '../eventsourcing/api/event-store';
import type { QuotaStore } from '../quota/api/quota';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';
import type { SearchIndex } from '../search/api/search-index';
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
  /** Login failures shared by the nodes (distributed profile); absent: each node counts its own. */
  readonly loginFailures?: LoginFailureStore;
  /** Vacation notices and the senders they answered (VacationMailet, WebAdmin `/vacation`). */
  readonly vacation?: VacationStore;
  /** Full-text search index (SQLite FTS5 embedded, OpenSearch distributed), fed by the `search-indexer` group listener. */
  readonly search?: SearchIndex;
  /** Quota limits and current usage (WebAdmin `/quota`, IMAP QUOTA, enforcement at append). */
  readonly quotas?: QuotaStore;
  /** Event-sourced aggregates (quota threshold crossings). */
  readonly eventStore?: EventStore;
  /** Mailbox annotations by mailbox id, for the listener that cleans them up after a mailbox deletion. */
  readonly annotations?: Pick<MailboxMapper, 'getAnnotations' | 'setAnnotation'>;
  /** Accepted mails not yet handed to Temporal (embedded: the SMTP `250` waits for a local commit only); absent: the `250` waits for the start. */
  readonly acceptedMails?: AcceptedMailJournal;
  checkHealth(): Promise<HealthCheck[]>;
  close(): Promise<void>;
}
