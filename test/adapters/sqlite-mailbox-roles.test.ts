import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MailboxRoleTakenError } from '../../src/mailbox/api/errors';
import { migrate } from '../../src/storage/sqlite/schema';
import { MAILBOX_SCHEMA } from '../../src/storage/sqlite/schema/mailbox';
import { logClearedRoles, SqliteMailboxStore } from '../../src/storage/sqlite/sqlite-mailbox-store';
import { mailboxFixture } from '../contracts/mailbox-store.contract';

const alice = 'alice@example.com';
const bob = 'bob@example.com';

describe('SQLite special-use roles: schema version 4', () => {
  let dir: string;
  let db: Database.Database;

  /** A database at mailbox schema version 3 (before roles were unique), as an older release left it. */
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-sqlite-roles-'));
    db = new Database(path.join(dir, 'postflow.db'));
    db.exec('CREATE TABLE schema_migrations (area TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
    for (const migration of MAILBOX_SCHEMA.migrations.slice(0, 3)) db.exec(migration);
    db.prepare("INSERT INTO schema_migrations (area, version) VALUES ('mailbox', 3)").run();
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function legacy(id: string, owner: string, name: string, role: string | null): void {
    db.prepare('INSERT INTO mailboxes (id, owner, name, role, uid_validity, uid_next, highest_modseq) VALUES (?, ?, ?, ?, 1, 1, 0)').run(id, owner, name, role);
  }

  function roles(): Record<string, string | null> {
    const rows = db.prepare('SELECT id, role FROM mailboxes ORDER BY id').all() as { id: string; role: string | null }[];
    return Object.fromEntries(rows.map((r) => [r.id, r.role]));
  }

  it('keeps the oldest mailbox of duplicates with its role, clears the others, records and logs each once', async () => {
    // Ids in reverse insertion order: "oldest" is the first written, not the smallest id.
    legacy('z-sent', alice, 'Sent', 'sent');
    legacy('m-sent-items', alice, 'Sent Items', 'sent');
    legacy('a-sent-old', alice, 'Sent Old', 'sent');
    legacy('drafts', alice, 'Drafts', 'drafts');
    legacy('bob-sent', bob, 'Sent', 'sent');
    legacy('plain-1', alice, 'Plain1', null);
    legacy('plain-2', alice, 'Plain2', null);

    expect(() => migrate(db)).not.toThrow();

    expect(db.prepare("SELECT version FROM schema_migrations WHERE area = 'mailbox'").pluck().get()).toBe(MAILBOX_SCHEMA.migrations.length);
    expect(roles()).toEqual({
      'z-sent': 'sent',
      'm-sent-items': null,
      'a-sent-old': null,
      drafts: 'drafts',
      'bob-sent': 'sent',
      'plain-1': null,
      'plain-2': null,
    });
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    const logger = { warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }) };
    expect(logClearedRoles(db, logger as never)).toBe(2);
    expect(warnings.map((w) => [w.fields.mailboxId, w.fields.keptMailboxId, w.fields.role, w.fields.owner]).sort()).toEqual(
      [
        ['a-sent-old', 'z-sent', 'sent', alice],
        ['m-sent-items', 'z-sent', 'sent', alice],
      ].sort(),
    );
    // Logged once: a restart does not repeat it; running the migration again changes nothing.
    expect(logClearedRoles(db, logger as never)).toBe(0);
    migrate(db);
    expect(roles()['z-sent']).toBe('sent');

    // From now on the database itself refuses a second holder.
    expect(() => db.prepare("UPDATE mailboxes SET role = 'sent' WHERE id = 'plain-1'").run()).toThrow(/UNIQUE/);
    const f = await mailboxFixture(async () => ({ mapper: new SqliteMailboxStore(db), cleanup: async () => undefined }));
    try {
      await expect(f.manager.createMailbox(alice, 'Outbox', { role: 'sent' })).rejects.toBeInstanceOf(MailboxRoleTakenError);
      await f.manager.deleteMailbox(alice, 'Sent');
      expect((await f.manager.createMailbox(alice, 'Outbox', { role: 'sent' })).role).toBe('sent');
    } finally {
      await f.cleanup();
    }
  });

  it('migrates a database without any mailbox, and one without duplicates, clearing nothing', () => {
    migrate(db);
    expect(logClearedRoles(db, { warn: () => undefined } as never)).toBe(0);
    legacy('x', alice, 'Trash', 'trash');
    legacy('y', bob, 'Trash', 'trash');
    expect(roles()).toEqual({ x: 'trash', y: 'trash' });
  });
});
