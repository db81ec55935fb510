import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { SqliteSearchIndex } from '../../src/search/sqlite-fts/sqlite-search-index';
import { UnsupportedFilterError, UnsupportedSortError, jmapFilterToCriterion, jmapSortToKeys, type EmailFilter } from '../../src/search/jmap-query';
import { migrate } from '../../src/storage/sqlite/schema';
import { testDocument } from '../contracts/search-index.contract';

describe('JMAP Email/query filter and sort → search query', () => {
  let db: Database.Database;
  let index: SqliteSearchIndex;
  const inbox = randomUUID();
  const archive = randomUUID();

  beforeEach(async () => {
    db = new Database(':memory:');
    migrate(db);
    index = new SqliteSearchIndex(db);
    await index.index([
      testDocument({ mailboxId: inbox, uid: 1, messageId: 'm1', flags: ['\\Seen'], size: 500, subject: 'Invoice March', internalDate: Date.parse('2024-03-01T00:00:00Z'), sortDisplayFrom: 'zoe' }),
      testDocument({ mailboxId: inbox, uid: 2, messageId: 'm2', flags: ['$Forwarded'], size: 5000, subject: 'Lunch', hasAttachment: true, internalDate: Date.parse('2024-03-05T00:00:00Z'), sortDisplayFrom: 'adam' }),
      testDocument({ mailboxId: archive, uid: 1, messageId: 'm3', size: 800, subject: 'Old invoice', internalDate: Date.parse('2023-01-01T00:00:00Z'), sortDisplayFrom: 'mia' }),
    ]);
  });

  afterEach(() => db.close());

  async function ids(filter: EmailFilter | null, sort: Parameters<typeof jmapSortToKeys>[0] = [{ property: 'receivedAt', isAscending: true }]): Promise<string[]> {
    const hits = await index.search({ mailboxIds: [inbox, archive], criterion: jmapFilterToCriterion(filter), sort: jmapSortToKeys(sort) });
    return hits.map((h) => h.messageId);
  }

  it('applies every supported FilterCondition property', async () => {
    expect(await ids(null)).toEqual(['m3', 'm1', 'm2']);
    expect(await ids({ inMailbox: archive })).toEqual(['m3']);
    expect(await ids({ inMailboxOtherThan: [archive] })).toEqual(['m1', 'm2']);
    expect(await ids({ hasKeyword: '$seen' })).toEqual(['m1']);
    expect(await ids({ notKeyword: '$seen' })).toEqual(['m3', 'm2']);
    expect(await ids({ hasKeyword: '$Forwarded' })).toEqual(['m2']);
    expect(await ids({ minSize: 800 })).toEqual(['m3', 'm2']);
    expect(await ids({ maxSize: 800 })).toEqual(['m1']);
    expect(await ids({ after: '2024-01-01T00:00:00Z', before: '2024-03-02T00:00:00Z' })).toEqual(['m1']);
    expect(await ids({ hasAttachment: true })).toEqual(['m2']);
    expect(await ids({ subject: 'invoice' })).toEqual(['m3', 'm1']);
    expect(await ids({ from: 'bob@example.org', text: 'lunch' })).toEqual(['m2']);
    expect(await ids({ header: ['Subject'] })).toEqual(['m3', 'm1', 'm2']);
    expect(await ids({ header: ['X-Absent'] })).toEqual([]);
    expect(await ids({ body: 'nothing to say' })).toEqual(['m3', 'm1', 'm2']);
  });

  it('combines conditions with AND, OR and NOT (none of), nested', async () => {
    expect(await ids({ operator: 'OR', conditions: [{ subject: 'lunch' }, { inMailbox: archive }] })).toEqual(['m3', 'm2']);
    expect(await ids({ operator: 'NOT', conditions: [{ subject: 'lunch' }, { inMailbox: archive }] })).toEqual(['m1']);
    expect(await ids({ operator: 'AND', conditions: [{ subject: 'invoice' }, { operator: 'NOT', conditions: [{ inMailbox: archive }] }] })).toEqual(['m1']);
  });

  it('sorts by receivedAt, size, subject and from, descending when isAscending is false', async () => {
    expect(await ids(null, [{ property: 'receivedAt', isAscending: false }])).toEqual(['m2', 'm1', 'm3']);
    expect(await ids(null, [{ property: 'size' }])).toEqual(['m1', 'm3', 'm2']);
    expect(await ids(null, [{ property: 'from' }])).toEqual(['m2', 'm3', 'm1']);
    expect(jmapSortToKeys([{ property: 'subject', isAscending: false }, { property: 'sentAt' }])).toEqual([
      { field: 'subject', reverse: true },
      { field: 'sentDate', reverse: false },
    ]);
  });

  it('answers unsupportedFilter and unsupportedSort to what it cannot or must not do', () => {
    const bad: unknown[] = [
      { someInThreadHaveKeyword: '$seen' },
      { unknownProperty: 1 },
      { before: 'yesterday' },
      { minSize: -1 },
      { hasKeyword: 'bad keyword' },
      { header: [] },
      { header: ['bad name', 'x'] },
      { operator: 'XOR', conditions: [] },
      { operator: 'AND', conditions: 'nope' },
      { subject: 42 },
      [],
    ];
    for (const filter of bad) expect(() => jmapFilterToCriterion(filter as EmailFilter)).toThrow(UnsupportedFilterError);
    let deep: EmailFilter = { subject: 'x' };
    for (let i = 0; i < 30; i++) deep = { operator: 'AND', conditions: [deep] };
    expect(() => jmapFilterToCriterion(deep)).toThrow(UnsupportedFilterError);
    expect(() => jmapSortToKeys([{ property: 'hasKeyword' }])).toThrow(UnsupportedSortError);
    expect(() => jmapSortToKeys([{ property: 'size', collation: 'i;octet-weird' }])).toThrow(UnsupportedSortError);
    expect(() => jmapSortToKeys(Array.from({ length: 11 }, () => ({ property: 'size' })))).toThrow(UnsupportedSortError);
  });
});
