import { Context } from '@temporalio/activity';
import type { MailboxManager } from '../src/mailbox/api/mailbox-manager';
import type { SearchIndex } from '../src/search/api/search-index';
import { loadIndexable, uidRanges, type SearchIndexer } from '../src/search/search-indexer';
import type { UsersRepository } from '../src/users/api/users-repository';

export interface ReindexActivityDeps {
  mailboxes: MailboxManager;
  users: Pick<UsersRepository, 'listUsers'>;
  index: SearchIndex;
  indexer: SearchIndexer;
}

export interface ReindexPageResult {
  indexed: number;
  /** UIDs that could not be indexed. */
  failed: number[];
  /** Last UID of the page; null when the mailbox has no message after it. */
  lastUid: number | null;
}

/** Heartbeats when running as an activity (the steps are also called directly, by tests and tools). */
function heartbeat(details?: unknown): void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return;
  }
  context.heartbeat(details);
}

/** Steps of the reindexing workflow; each is idempotent (indexing replaces documents). */
export function createReindexActivities(deps: ReindexActivityDeps) {
  /** Indexes loaded messages; when the batch fails, one by one, so one bad message fails alone. */
  async function indexAll(owner: string, mailboxId: string, uids: number[]): Promise<{ indexed: number; failed: number[] }> {
    const messages = await loadIndexable(deps.mailboxes, owner, mailboxId, uidRanges(uids));
    try {
      return { indexed: await deps.indexer.indexLoaded(owner, messages), failed: [] };
    } catch {
      let indexed = 0;
      const failed: number[] = [];
      for (const message of messages) {
        heartbeat();
        try {
          indexed += await deps.indexer.indexLoaded(owner, [message]);
        } catch {
          failed.push(message.record.uid);
        }
      }
      return { indexed, failed };
    }
  }

  return {
    async listUsers(after: string | null, limit: number): Promise<string[]> {
      const users = await deps.users.listUsers();
      return users.filter((u) => after === null || u > after).slice(0, limit);
    },

    async userMailboxes(user: string): Promise<Array<{ id: string; owner: string }>> {
      return (await deps.mailboxes.listMailboxes(user)).map((m) => ({ id: m.id, owner: m.owner }));
    },

    async mailboxOwner(mailboxId: string): Promise<string | null> {
      return (await deps.mailboxes.getMailboxById(mailboxId))?.owner ?? null;
    },

    async clearMailbox(mailboxId: string): Promise<void> {
      await deps.index.deleteMailbox(mailboxId);
    },

    async reindexMailboxPage(owner: string, mailboxId: string, afterUid: number, limit: number): Promise<ReindexPageResult> {
      const uids: number[] = [];
      for await (const message of deps.mailboxes.listMessages(mailboxId, { from: afterUid + 1, to: Number.MAX_SAFE_INTEGER })) {
        uids.push(message.uid);
        if (uids.length >= limit) break;
      }
      if (uids.length === 0) return { indexed: 0, failed: [], lastUid: null };
      heartbeat(uids[uids.length - 1]);
      const result = await indexAll(owner, mailboxId, uids);
      return { ...result, lastUid: uids[uids.length - 1] };
    },

    /** Indexes these messages (a message no longer there counts as done: nothing to index). */
    async reindexMessages(mailboxId: string, uids: number[]): Promise<{ indexed: number; failed: number[] }> {
      const mailbox = await deps.mailboxes.getMailboxById(mailboxId);
      if (!mailbox) return { indexed: 0, failed: [] };
      return indexAll(mailbox.owner, mailboxId, uids);
    },
  };
}

export type ReindexActivities = ReturnType<typeof createReindexActivities>;
