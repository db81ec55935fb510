import type { BlobStore } from '../blob/api';
import type { DomainList } from '../domains/api/domain-list';
import type { EventBus } from '../events/api/event-bus';
import type { MailboxStore } from '../mailbox/api/mailbox-store';
import type { MailRepositoryStore } from '../mailrepository/api/mail-repository-store';
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
  readonly mailboxes: MailboxStore;
  readonly users: UsersRepository;
  readonly domains: DomainList;
  readonly mailRepositories: MailRepositoryStore;
  readonly events: EventBus;
  checkHealth(): Promise<HealthCheck[]>;
  close(): Promise<void>;
}
