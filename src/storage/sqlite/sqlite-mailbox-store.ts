import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { AlreadyExistsError, NotFoundError } from '../../core/errors';
import type { AppendRequest, Mailbox, MailboxStore, MessageMetadata, UidRange } from '../../mailbox/api/mailbox-store';
import { normalizeMailboxName } from '../../mailbox/api/names';
import { newUidValidity } from '../../mailbox/api/uid-validity';

/** Rows fetched per query while streaming a UID range. */
const PAGE_SIZE = 500;

interface MailboxRow {
  id: string;
  owner: string;
  name: string;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  message_count: number;
}

interface MessageRow {
  mailbox_id: string;
  uid: number;
  modseq: number;
  message_id: string;
  blob_id: string;
  size: number;
  internal_date: number;
  flags: string;
}

export class SqliteMailboxStore implements MailboxStore {
  constructor(private readonly db: Database.Database) {}

  async createMailbox(owner: string, name: string): Promise<Mailbox> {
    const normalized = normalizeMailboxName(name);
    const mailbox: Mailbox = { id: randomUUID(), owner, name: normalized, uidValidity: newUidValidity(), uidNext: 1, highestModSeq: 0, messageCount: 0 };
    const result = this.db
      .prepare(
        'INSERT OR IGNORE INTO mailboxes (id, owner, name, uid_validity, uid_next, highest_modseq, message_count) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(mailbox.id, owner, normalized, mailbox.uidValidity, mailbox.uidNext, mailbox.highestModSeq, mailbox.messageCount);
    if (result.changes === 0) throw new AlreadyExistsError(`Mailbox ${normalized} already exists`);
    return mailbox;
  }

  async ensureMailbox(owner: string, name: string): Promise<Mailbox> {
    const existing = await this.getMailbox(owner, name);
    if (existing) return existing;
    try {
      return await this.createMailbox(owner, name);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const raced = await this.getMailbox(owner, name);
      if (!raced) throw err;
      return raced;
    }
  }

  async getMailbox(owner: string, name: string): Promise<Mailbox | null> {
    const row = this.db.prepare('SELECT * FROM mailboxes WHERE owner = ? AND name = ?').get(owner, normalizeMailboxName(name)) as MailboxRow | undefined;
    return row ? toMailbox(row) : null;
  }

  async getMailboxById(id: string): Promise<Mailbox | null> {
    const row = this.db.prepare('SELECT * FROM mailboxes WHERE id = ?').get(id) as MailboxRow | undefined;
    return row ? toMailbox(row) : null;
  }

  async listMailboxes(owner: string): Promise<Mailbox[]> {
    return (this.db.prepare('SELECT * FROM mailboxes WHERE owner = ? ORDER BY name').all(owner) as MailboxRow[]).map(toMailbox);
  }

  async appendMessage(mailboxId: string, request: AppendRequest): Promise<MessageMetadata> {
    // One IMMEDIATE transaction: UID and MODSEQ allocation and the insert are atomic and serialized.
    return this.db.transaction((): MessageMetadata => {
      if (request.deliveryKey !== undefined) {
        const existing = this.db
          .prepare('SELECT * FROM messages WHERE mailbox_id = ? AND delivery_key = ?')
          .get(mailboxId, request.deliveryKey) as MessageRow | undefined;
        if (existing) return toMessage(existing);
      }
      const mailbox = this.db.prepare('SELECT uid_next, highest_modseq FROM mailboxes WHERE id = ?').get(mailboxId) as
        | Pick<MailboxRow, 'uid_next' | 'highest_modseq'>
        | undefined;
      if (!mailbox) throw new NotFoundError(`Mailbox ${mailboxId} not found`);
      const message: MessageMetadata = {
        mailboxId,
        uid: mailbox.uid_next,
        modSeq: mailbox.highest_modseq + 1,
        messageId: randomUUID(),
        blobId: request.blobId,
        size: request.size,
        internalDate: request.internalDate,
        flags: [...new Set(request.flags ?? [])],
      };
      this.db
        .prepare(
          'INSERT INTO messages (mailbox_id, uid, modseq, message_id, blob_id, size, internal_date, flags, delivery_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(mailboxId, message.uid, message.modSeq, message.messageId, message.blobId, message.size, message.internalDate.getTime(), JSON.stringify(message.flags), request.deliveryKey ?? null);
      this.db
        .prepare('UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = ?, message_count = message_count + 1 WHERE id = ?')
        .run(message.modSeq, mailboxId);
      return message;
    }).immediate();
  }

  async *listMessages(mailboxId: string, range: UidRange): AsyncIterable<MessageMetadata> {
    const page = this.db.prepare('SELECT * FROM messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? ORDER BY uid LIMIT ?');
    let from = range.from;
    for (;;) {
      const rows = page.all(mailboxId, from, range.to, PAGE_SIZE) as MessageRow[];
      for (const row of rows) yield toMessage(row);
      if (rows.length < PAGE_SIZE) return;
      from = rows[rows.length - 1].uid + 1;
    }
  }

  async listUids(mailboxId: string): Promise<number[]> {
    return this.db.prepare('SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid').pluck().all(mailboxId) as number[];
  }

  async addFlags(mailboxId: string, range: UidRange, flags: string[]): Promise<MessageMetadata[]> {
    return this.db.transaction((): MessageMetadata[] => {
      const rows = this.db.prepare('SELECT * FROM messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? ORDER BY uid').all(mailboxId, range.from, range.to) as MessageRow[];
      const changed = rows.map(toMessage).filter((m) => flags.some((f) => !m.flags.includes(f)));
      if (changed.length === 0) return [];
      const mailbox = this.db.prepare('SELECT highest_modseq FROM mailboxes WHERE id = ?').get(mailboxId) as { highest_modseq: number };
      const modSeq = mailbox.highest_modseq + 1;
      const update = this.db.prepare('UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?');
      for (const message of changed) {
        message.flags = [...new Set([...message.flags, ...flags])];
        message.modSeq = modSeq;
        update.run(JSON.stringify(message.flags), modSeq, mailboxId, message.uid);
      }
      this.db.prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(modSeq, mailboxId);
      return changed;
    }).immediate();
  }
}

function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModSeq: row.highest_modseq,
    messageCount: row.message_count,
  };
}

function toMessage(row: MessageRow): MessageMetadata {
  return {
    mailboxId: row.mailbox_id,
    uid: row.uid,
    modSeq: row.modseq,
    messageId: row.message_id,
    blobId: row.blob_id,
    size: row.size,
    internalDate: new Date(row.internal_date),
    flags: JSON.parse(row.flags) as string[],
  };
}
