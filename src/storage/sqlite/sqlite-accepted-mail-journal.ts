import type Database from 'better-sqlite3';
import type { MailReference } from '../../core/mail';
import type { AcceptedMailJournal } from '../../queue/accepted-mail-journal';
import { GroupCommit } from './group-commit';

/**
 * The journal as rows of the embedded database, written in its group commit: a mail accepted in
 * the same event-loop turn as other writes (its blob, mailbox appends) shares their commit.
 */
export class SqliteAcceptedMailJournal implements AcceptedMailJournal {
  private readonly writes: GroupCommit;
  private readonly insert: Database.Statement;
  private readonly remove_: Database.Statement;
  private readonly all: Database.Statement;

  constructor(db: Database.Database) {
    this.writes = new GroupCommit(db);
    this.insert = db.prepare('INSERT INTO accepted_mails (mail_id, reference, accepted_at) VALUES (?, ?, ?) ON CONFLICT (mail_id) DO NOTHING');
    this.remove_ = db.prepare('DELETE FROM accepted_mails WHERE mail_id = ?');
    this.all = db.prepare('SELECT reference FROM accepted_mails ORDER BY seq').pluck();
  }

  async add(mail: MailReference): Promise<void> {
    const reference = JSON.stringify(mail);
    await this.writes.run(() => this.insert.run(mail.mailId, reference, Date.now()));
  }

  async remove(mailId: string): Promise<void> {
    await this.writes.run(() => this.remove_.run(mailId));
  }

  async list(): Promise<MailReference[]> {
    return (this.all.all() as string[]).map((text) => JSON.parse(text) as MailReference);
  }
}
