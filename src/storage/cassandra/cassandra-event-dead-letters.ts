import { types } from 'cassandra-driver';
import type { EventDeadLetters } from '../../events/api/event-dead-letters';
import type { CassandraSession } from './cassandra-session';
import { compareBinary } from './sort';

/** Rows per page while listing a group's insertion ids. */
const PAGE_SIZE = 1_000;

/** Dead letters of group listeners on the distributed profile (see schema/events.ts). */
export class CassandraEventDeadLetters implements EventDeadLetters {
  private readonly letters: string;
  private readonly groups: string;

  constructor(private readonly session: CassandraSession) {
    this.letters = session.table('event_dead_letters');
    this.groups = session.table('event_dead_letters_groups');
  }

  async store(group: string, eventJson: string): Promise<string> {
    const insertionId = types.Uuid.random();
    // The group before its letter: a stored letter's group is always listed.
    await this.session.execute(`INSERT INTO ${this.groups} (group_name) VALUES (?)`, [group], { isIdempotent: true });
    await this.session.execute(`INSERT INTO ${this.letters} (group_name, insertion_id, event) VALUES (?, ?, ?)`, [group, insertionId, eventJson], { isIdempotent: true });
    return insertionId.toString();
  }

  async get(group: string, insertionId: string): Promise<string | null> {
    const row = (await this.session.execute(`SELECT event FROM ${this.letters} WHERE group_name = ? AND insertion_id = ?`, [group, types.Uuid.fromString(insertionId)])).first();
    return row ? (row.get('event') as string) : null;
  }

  async remove(group: string, insertionId: string): Promise<void> {
    await this.session.execute(`DELETE FROM ${this.letters} WHERE group_name = ? AND insertion_id = ?`, [group, types.Uuid.fromString(insertionId)], { isIdempotent: true });
  }

  async listInsertionIds(group: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const row of this.session.rows(`SELECT insertion_id FROM ${this.letters} WHERE group_name = ?`, [group], PAGE_SIZE)) ids.push(String(row.get('insertion_id')));
    return ids;
  }

  async listGroups(): Promise<string[]> {
    const known: string[] = [];
    for await (const row of this.session.rows(`SELECT group_name FROM ${this.groups}`, [], PAGE_SIZE)) known.push(row.get('group_name') as string);
    const withLetters = await Promise.all(
      known.map(async (group) => ((await this.session.execute(`SELECT insertion_id FROM ${this.letters} WHERE group_name = ? LIMIT 1`, [group])).rowLength > 0 ? group : null)),
    );
    return withLetters.filter((g): g is string => g !== null).sort(compareBinary);
  }
}
