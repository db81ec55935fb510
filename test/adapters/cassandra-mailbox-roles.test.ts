import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { MailboxRoleTakenError } from '../../src/mailbox/api/errors';
import type { MailboxRole } from '../../src/mailbox/api/mailbox-store';
import { MailboxRoleClaims, ROLE_CLAIM_GRACE_MS } from '../../src/storage/cassandra/cassandra-mailbox-roles';
import { CassandraMailboxStore } from '../../src/storage/cassandra/cassandra-mailbox-store';
import { MAILBOX_TABLES } from '../../src/storage/cassandra/cassandra-schema';
import { CassandraSession } from '../../src/storage/cassandra/cassandra-session';
import { MAILBOX_SCHEMA } from '../../src/storage/cassandra/schema/mailbox';
import { mailboxFixture } from '../contracts/mailbox-store.contract';
import { noCleanup, useCassandraKeyspace } from '../helpers/store-fixtures';

// Its own keyspace: one test drops the role table and reruns the migration.
const keyspace = useCassandraKeyspace();
const { config } = keyspace;
let session: CassandraSession;
const alice = 'alice@example.com';
const bob = 'bob@example.com';

beforeAll(() => {
  session = keyspace.session;
});

beforeEach(async () => {
  await session.truncate(MAILBOX_TABLES);
}, 60_000);

/** A pino logger whose records the test reads. */
function recordingLogger(): { logger: pino.Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), records };
}

/**
 * A mailbox as a node before schema version 4 wrote it (row with its role, sequence, path; no
 * claim), its row written at `writtenAt` (µs) so the test decides which is oldest.
 */
async function legacyMailbox(owner: string, name: string, role: MailboxRole | null, writtenAt: number, options: { path?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  await session.execute(`INSERT INTO ${session.table('mailbox')} (id, owner, name, uid_validity, role) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?`, [id, owner, name, 1, role, writtenAt]);
  await session.execute(`INSERT INTO ${session.table('mailbox_sequence')} (mailbox_id, next_uid, highest_modseq) VALUES (?, 1, 0) IF NOT EXISTS`, [id]);
  if (options.path !== false) await session.execute(`INSERT INTO ${session.table('mailbox_path')} (owner, name, mailbox_id) VALUES (?, ?, ?) IF NOT EXISTS`, [owner, name, id]);
  return id;
}

async function claimOf(owner: string, role: MailboxRole): Promise<string | null> {
  return new MailboxRoleClaims(session).holder(owner, role);
}

async function roleOf(id: string): Promise<string | null> {
  return ((await session.execute(`SELECT role FROM ${session.table('mailbox')} WHERE id = ?`, [id])).first()?.get('role') as string | null) ?? null;
}

const T0 = Date.UTC(2020, 0, 1) * 1000;

describe('Cassandra special-use role claims', () => {
  it('schema version 4 claims existing roles: the oldest of duplicates keeps its role, the others lose it, each logged, idempotently', async () => {
    const oldest = await legacyMailbox(alice, 'Sent', 'sent', T0 + 1);
    const younger = await legacyMailbox(alice, 'Sent Items', 'sent', T0 + 2);
    const youngest = await legacyMailbox(alice, 'Sent Old', 'sent', T0 + 3);
    const drafts = await legacyMailbox(alice, 'Drafts', 'drafts', T0 + 4);
    const bobs = await legacyMailbox(bob, 'Sent', 'sent', T0 + 5);
    const plain = await legacyMailbox(alice, 'Plain', null, T0 + 6);

    // The real upgrade path: an existing keyspace at mailbox version 3 gets version 4 at connect.
    await session.execute(`DROP TABLE IF EXISTS ${session.table('mailbox_role')}`, [], { prepare: false, readTimeout: 60_000 });
    await session.execute(`UPDATE ${session.table('schema_version')} SET version = 3 WHERE name = 'mailbox'`);
    const { logger, records } = recordingLogger();
    const upgraded = await CassandraSession.connect(config.cassandra, { keyspace: session.keyspace, logger });
    try {
      const version = (await upgraded.execute(`SELECT version FROM ${upgraded.table('schema_version')} WHERE name = 'mailbox'`)).first()?.get('version');
      expect(version).toBe(MAILBOX_SCHEMA.migrations(session.keyspace).length);
    } finally {
      await upgraded.close();
    }

    expect(await claimOf(alice, 'sent')).toBe(oldest);
    expect(await claimOf(alice, 'drafts')).toBe(drafts);
    expect(await claimOf(bob, 'sent')).toBe(bobs);
    expect([await roleOf(oldest), await roleOf(younger), await roleOf(youngest), await roleOf(drafts), await roleOf(bobs), await roleOf(plain)]).toEqual(['sent', null, null, 'drafts', 'sent', null]);
    const warnings = records.filter((r) => r.level === 40 && String(r.msg).includes('duplicate special-use role'));
    expect(warnings.map((w) => [w.mailboxId, w.keptMailboxId, w.role, w.owner]).sort()).toEqual(
      [
        [younger, oldest, 'sent', alice],
        [youngest, oldest, 'sent', alice],
      ].sort(),
    );

    // Rerun (a node that died mid-way): nothing changes.
    expect(await new MailboxRoleClaims(session).claimExisting()).toEqual({ claimed: 0, cleared: 0 });
    expect(await claimOf(alice, 'sent')).toBe(oldest);

    // The model holds afterwards: the role is taken until its holder is deleted.
    const f = await mailboxFixture(async () => ({ mapper: new CassandraMailboxStore(session), cleanup: noCleanup }));
    try {
      await expect(f.manager.createMailbox(alice, 'Outbox', { role: 'sent' })).rejects.toBeInstanceOf(MailboxRoleTakenError);
      await f.manager.deleteMailbox(alice, 'Sent');
      expect(await claimOf(alice, 'sent')).toBeNull();
      expect((await f.manager.createMailbox(alice, 'Outbox', { role: 'sent' })).role).toBe('sent');
    } finally {
      await f.cleanup();
    }
  }, 180_000);

  it('migrates duplicates whose claim a newer node made already, and never gives a role to a mailbox unreachable by name', async () => {
    const ghost = await legacyMailbox(alice, 'Ghost', 'trash', T0 + 1, { path: false });
    const oldest = await legacyMailbox(alice, 'Trash', 'trash', T0 + 2);
    const newer = await legacyMailbox(alice, 'Bin', 'trash', T0 + 3);
    // A claim for the younger one, as an upgraded node would have made.
    expect(await new MailboxRoleClaims(session).claim(alice, 'trash', newer)).toBe(true);

    const result = await new MailboxRoleClaims(session).claimExisting();
    expect(await claimOf(alice, 'trash')).toBe(oldest);
    expect(await roleOf(oldest)).toBe('trash');
    expect(await roleOf(newer)).toBeNull();
    expect(await roleOf(ghost)).toBeNull();
    expect(result.cleared).toBe(2);
  });

  it('takes over the claim of a mailbox that no longer exists (a node died mid-delete)', async () => {
    await new MailboxRoleClaims(session).claim(alice, 'junk', randomUUID());
    const f = await mailboxFixture(async () => ({ mapper: new CassandraMailboxStore(session), cleanup: noCleanup }));
    try {
      const junk = await f.manager.createMailbox(alice, 'Junk', { role: 'junk' });
      expect(junk.role).toBe('junk');
      expect(await claimOf(alice, 'junk')).toBe(junk.id);
    } finally {
      await f.cleanup();
    }
  });

  it('waits out a claim whose create may still be in flight, and takes it over once the grace has passed', async () => {
    // A create that claimed the role but died before setting it on its row (or is still running).
    const inFlight = await legacyMailbox(alice, 'Archive', null, T0 + 1);
    expect(await new MailboxRoleClaims(session).claim(alice, 'archive', inFlight)).toBe(true);
    const other = randomUUID();
    expect(await new MailboxRoleClaims(session).claim(alice, 'archive', other)).toBe(false);
    const later = new MailboxRoleClaims(session, () => Date.now() + ROLE_CLAIM_GRACE_MS + 1_000);
    expect(await later.claim(alice, 'archive', other)).toBe(true);
    expect(await claimOf(alice, 'archive')).toBe(other);
    // A complete holder (row with the role, reachable by name) is never stale, however old.
    const holder = await legacyMailbox(alice, 'Drafts', 'drafts', T0 + 2);
    expect(await new MailboxRoleClaims(session).claim(alice, 'drafts', holder)).toBe(true);
    expect(await later.claim(alice, 'drafts', randomUUID())).toBe(false);
    expect(await claimOf(alice, 'drafts')).toBe(holder);
  });

  it('gives a role to one of concurrent creates made through two nodes (two sessions, two stores)', async () => {
    const other = await CassandraSession.connect(config.cassandra, { keyspace: session.keyspace });
    try {
      const nodes = [new CassandraMailboxStore(session), new CassandraMailboxStore(other)];
      const ids = Array.from({ length: 6 }, () => randomUUID());
      const results = await Promise.allSettled(ids.map((id, i) => nodes[i % 2].insertMailbox({ id, owner: alice, name: `Junk${i}`, uidValidity: 1 + i, role: 'junk' })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [ids[i]] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(MailboxRoleTakenError);
      expect(await claimOf(alice, 'junk')).toBe(winners[0]);
      const listed = await nodes[1].listMailboxes(alice);
      expect(listed.map((m) => [m.id, m.role])).toEqual([[winners[0], 'junk']]);
    } finally {
      await other.close();
    }
  });

  it('release leaves a claim that another mailbox took over alone', async () => {
    const claims = new MailboxRoleClaims(session);
    const first = randomUUID();
    const second = randomUUID();
    expect(await claims.claim(bob, 'sent', first)).toBe(true);
    // first has no row: stale at once, so second takes it over.
    expect(await claims.claim(bob, 'sent', second)).toBe(true);
    await claims.release(bob, 'sent', first);
    expect(await claimOf(bob, 'sent')).toBe(second);
    await claims.release(bob, 'sent', second);
    expect(await claimOf(bob, 'sent')).toBeNull();
  });
});
