import type { Logger } from 'pino';
import { MAIL_BUCKET } from '../blob/api/blob-store';
import type { PostflowConfig } from '../config/schema';
import { locallyCreatedMail } from '../core/mail';
import type { Registration } from '../events/api/event-bus';
import { AnnotationCleanupListener } from '../mailbox/listeners/annotation-cleanup';
import { SpamLearningListener } from '../mailbox/listeners/spam-learning';
import { StoreMailboxManager } from '../mailbox/store-mailbox-manager';
import { derivedMailId } from '../mailet/runtime/mailet-runtime';
import type { ImapQuotaDeps } from '../protocols/imap/commands/quota';
import type { MailQueue } from '../queue/mail-queue';
import type { Backends } from '../storage/backends';
import { QuotaListener } from './quota-listener';
import { QuotaService } from './quota-service';
import { QuotaThresholdNotifier, type WarningSender } from './thresholds';

/**
 * The quota service of a node, when the profile stores quotas. Installs it as the mailbox
 * manager's quota checker, so every append (IMAP APPEND, LocalDelivery, JMAP) is checked.
 */
export function createQuotaService(backends: Backends): QuotaService | undefined {
  if (!backends.quotas) return undefined;
  const quota = new QuotaService(backends.quotas, backends.mailboxes);
  if (backends.mailboxes instanceof StoreMailboxManager) backends.mailboxes.setQuotaChecker(quota);
  return quota;
}

/** What IMAP's QUOTA commands use. */
export function imapQuotaDeps(quota: QuotaService, config: PostflowConfig): ImapQuotaDeps {
  const admins = new Set(config.quota.imapAdmins);
  return {
    details: (user) => quota.details(user),
    isAdmin: (user) => admins.has(user.toLowerCase()),
    async setUserLimits(user, limits) {
      await quota.store.setLimit('user', user, 'count', limits.count);
      await quota.store.setLimit('user', user, 'size', limits.size);
    },
  };
}

/**
 * Sends warnings through the mail path: a blob, then a processMail workflow whose id the crossing
 * fixes. A mail whose workflow exists already (running, or closed within Temporal's retention) is
 * not started again, so a crossing handed over twice (concurrent handlers, a retry after a crash
 * between hand-over and bookkeeping) gives one mail.
 */
export function spoolWarningSender(backends: Backends, queue: MailQueue, from: string, mailExists?: (mailId: string) => Promise<boolean>): WarningSender {
  return {
    async send({ mailId, recipient, message }) {
      const id = derivedMailId(`quota-warning|${mailId}`);
      if (mailExists && (await mailExists(id))) return;
      const stored = await backends.blobs.put(MAIL_BUCKET, message);
      await queue.enqueue(locallyCreatedMail({ mailId: id, sender: from, recipients: [recipient], messageBlobId: stored.blobId, size: stored.size }));
    },
  };
}

/**
 * Registers the group listeners of this area on the node: current quota usage and threshold
 * warnings, annotation cleanup, and spam learning when spamd is configured.
 */
export async function startMailboxListeners(options: {
  config: PostflowConfig;
  backends: Backends;
  quota: QuotaService | undefined;
  queue: MailQueue;
  /** True when the processMail workflow of a mail id exists (Temporal describe). */
  mailExists?: (mailId: string) => Promise<boolean>;
  logger: Logger;
}): Promise<{ unregister(): Promise<void> }> {
  const { config, backends, quota, logger } = options;
  const registrations: Registration[] = [];
  const postmaster = config.mailetcontainer.postmaster || `postmaster@${config.domains.defaultDomain}`;
  try {
    if (quota) {
      const notifier = backends.eventStore
        ? new QuotaThresholdNotifier(backends.eventStore, spoolWarningSender(backends, options.queue, postmaster, options.mailExists), {
            thresholds: [...config.quota.thresholds].sort((a, b) => a - b),
            subject: config.quota.warningSubject,
            body: config.quota.warningBody,
            from: postmaster,
          })
        : null;
      registrations.push(await backends.events.registerGroupListener(new QuotaListener(quota, notifier, logger.child({ component: 'quota' }))));
    }
    if (backends.annotations) registrations.push(await backends.events.registerGroupListener(new AnnotationCleanupListener(backends.annotations)));
    if (config.spamassassin.host) {
      const spamd = { host: config.spamassassin.host, port: config.spamassassin.port };
      registrations.push(await backends.events.registerGroupListener(new SpamLearningListener(backends.mailboxes, backends.blobs, spamd, logger.child({ component: 'spam-learning' }))));
    }
  } catch (err) {
    await Promise.allSettled(registrations.map((r) => r.unregister()));
    throw err;
  }
  return {
    async unregister() {
      await Promise.allSettled(registrations.map((r) => r.unregister()));
    },
  };
}
