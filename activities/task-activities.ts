import { createHash } from 'node:crypto';
import { mailKey } from '../src/core/mail';
import type { MailRepositoryStore } from '../src/mailrepository/api/mail-repository-store';
import type { MailQueueAdmin, QueueFilter } from '../src/queue/mail-queue-admin';
import type { TemporalMailQueue } from '../src/queue/temporal-mail-queue';

export interface TaskActivityDeps {
  mailRepositories: MailRepositoryStore;
  queue: TemporalMailQueue;
  queueAdmin: MailQueueAdmin;
}

/** Steps of the admin tasks; each is idempotent so a retried step does no harm. */
export function createTaskActivities(deps: TaskActivityDeps) {
  return {
    async repositorySize(repositoryPath: string): Promise<number> {
      return deps.mailRepositories.size(repositoryPath);
    },

    async repositoryKeys(repositoryPath: string, after: string | undefined, limit: number): Promise<string[]> {
      return deps.mailRepositories.listKeys(repositoryPath, { after, limit });
    },

    /**
     * Starts a new processing of each mail from the target processor, then removes it from the
     * repository. The workflow id is derived from the task and the key: a retried step finds it
     * started and only finishes the removal.
     */
    async reprocessMails(repositoryPath: string, keys: string[], targetProcessor: string | null, taskId: string): Promise<number> {
      let done = 0;
      for (const key of keys) {
        const stored = await deps.mailRepositories.get(repositoryPath, key);
        if (!stored) continue;
        const mail = { ...stored.mail, state: targetProcessor ?? stored.mail.state, errorMessage: null };
        const suffix = createHash('sha256').update(`${taskId}|${key}`).digest('hex').slice(0, 16);
        await deps.queue.enqueue(mail, { workflowId: `mail-${mailKey(mail)}-reprocess-${suffix}` });
        await deps.mailRepositories.remove(repositoryPath, key);
        done++;
      }
      return done;
    },

    async removeRepositoryPage(repositoryPath: string, limit: number): Promise<number> {
      const keys = await deps.mailRepositories.listKeys(repositoryPath, { limit });
      for (const key of keys) await deps.mailRepositories.remove(repositoryPath, key);
      return keys.length;
    },

    async queueSize(queue: string, filter: QueueFilter): Promise<number> {
      return deps.queueAdmin.size(queue, filter);
    },

    async removeQueuedMails(queue: string, filter: QueueFilter): Promise<number> {
      return deps.queueAdmin.remove(queue, filter, 10_000);
    },
  };
}

export type TaskActivities = ReturnType<typeof createTaskActivities>;
