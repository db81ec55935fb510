import Database from 'better-sqlite3';
import { migrate } from '../../src/storage/sqlite/schema';
import { SqliteSearchIndex } from '../../src/search/sqlite-fts/sqlite-search-index';
import { describeSearchIndexContract } from '../contracts/search-index.contract';

describeSearchIndexContract('SQLite FTS5', async () => {
  const db = new Database(':memory:');
  migrate(db);
  return { index: new SqliteSearchIndex(db), cleanup: async () => void db.close() };
});
