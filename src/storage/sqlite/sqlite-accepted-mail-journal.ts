import type Database from 'better-sqlite3';
import type { MailReference } from '../../core/mail';
import type { AcceptedMailJournal } from '../../queue/accepted-mail-journal';
import { GroupCommit } from './group-commit';

/**
 * The journal as rows of the embedded database, written in its group commit: a mail accepted in
 * the same event-loop turn as other writes (other sessions' blobs and rows, mailbox appends)
 * shares their commit. Its own blob was committed before (the row follows the blob's put).
 */
export class SqliteAcceptedMailJournal implements AcceptedMailJournal {
  private readonly writes: GroupCommit;
  private readonly insertRow: Database.Statement;
  private readonly deleteRow: Database.Statement;
  private readonly selectAll: Database.Statement;

  constructor(db: Database.Database) {
    this.writes = new GroupCommit(db);
    this.insertRow = db.prepare('INSERT INTO accepted_mails (mail_id, reference, accepted_at) VALUES (?, ?, ?) ON CONFLICT (mail_id) DO NOTHING');
    this.deleteRow = db.prepare('DELETE FROM accepted_mails WHERE mail_id = ?');
    this.selectAll = db.prepare('SELECT reference FROM accepted_mails ORDER BY seq').pluck();
  }

  async add(mail: MailReference): Promise<void> {
    const reference = JSON.stringify(mail);
    await this.writes.run(() => this.insertRow.run(mail.mailId, reference, Date.now()));
  }

  async remove(mailId: string): Promise<void> {
    await this.writes.run(() => this.deleteRow.run(mailId));
  }

  async list(): Promise<MailReference[]> {
    return (this.selectAll.all() as string[]).map((text) => JSON.parse(text) as MailReference);
  }
}
