import type { GroupListener, MailboxEvent } from '../../events/api/event-bus';
import type { MailboxMapper } from '../api/mailbox-mapper';

export const ANNOTATION_CLEANUP_GROUP = 'mailbox-annotation-cleanup';

/**
 * Deletes the annotations of a deleted mailbox (James' MailboxAnnotationListener). The mappers
 * already drop them with the mailbox, but not atomically on Cassandra (the path goes first, a node
 * can die before the annotations): this listener removes what is left. Idempotent: deleting a
 * missing entry is a no-op.
 */
export class AnnotationCleanupListener implements GroupListener {
  readonly group = ANNOTATION_CLEANUP_GROUP;

  constructor(private readonly annotations: Pick<MailboxMapper, 'getAnnotations' | 'setAnnotation'>) {}

  async handle(event: MailboxEvent): Promise<void> {
    if (event.type !== 'MailboxDeleted') return;
    const entries = await this.annotations.getAnnotations(event.mailboxId);
    for (const key of entries.keys()) await this.annotations.setAnnotation(event.mailboxId, key, null);
  }
}
