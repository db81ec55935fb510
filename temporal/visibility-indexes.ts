import Database from 'better-sqlite3';

/**
 * The dev server's SQLite visibility table carries one B-tree index per column (≈58): every
 * workflow start inserts a visibility row and every close replaces it, so each mail updates all of
 * them, most on JSON_EXTRACT-generated columns that no query of ours (or of any namespace here)
 * reads. An index never changes a query's result, only its speed: this module keeps the indexes
 * that the queue listing, the Web UI's default list and filters, and the server's own
 * namespace-division queries (schedules, worker deployments) use, and drops the others.
 * It also guards the server's FTS update trigger (see guardFtsUpdateTrigger): a workflow's close
 * no longer re-indexes keyword lists and texts that did not change.
 * The dev server creates its schema only in a new database file (a restart, even of another CLI
 * version, does not recreate a dropped index), so this runs while the server is stopped.
 * See docs/performance.md ("Lean visibility indexes").
 */

export const VISIBILITY_TABLE = 'executions_visibility';

/** Indexes on built-in columns that stay (list order, WorkflowId/Type, ExecutionStatus, TaskQueue, namespace divisions). */
export const KEPT_SYSTEM_INDEXES: readonly string[] = [
  'default_idx',
  'by_execution_time',
  'by_workflow_id',
  'by_workflow_type',
  'by_status',
  'by_task_queue',
  'by_temporal_namespace_division',
];

/** Custom search attribute columns that have a B-tree index (KeywordList and Text use FTS tables, left alone). */
const INDEXED_CUSTOM_COLUMN = /^(Bool|Datetime|Double|Int|Keyword)(\d\d)$/;
/** Every custom (aliasable) column of the SQLite visibility schema. */
const CUSTOM_COLUMN = /^(Bool|Datetime|Double|Int|Keyword|KeywordList|Text)\d\d$/;

export interface VisibilityIndexReport {
  /** Indexes dropped by this call. */
  dropped: string[];
  /** Indexes of aliased custom columns created again by this call (an attribute registered after a previous tuning). */
  created: string[];
  /** Guarded FTS update triggers created by this call, in place of the server's unguarded one. */
  triggers: string[];
  /** Set when nothing was changed, with the reason. */
  skipped?: string;
}

/**
 * Reads the custom search attribute aliases (`Keyword03` → `PostflowQueue`) of every namespace.
 * They sit in the namespace's proto3 blob as map<string,string> entries: 0x0a len column 0x12 len alias.
 */
export function customAttributeAliases(db: Database.Database): Map<string, string> {
  const aliases = new Map<string, string>();
  const rows = db.prepare('SELECT data FROM namespaces').all() as Array<{ data: Buffer | null }>;
  for (const { data } of rows) {
    if (!data) continue;
    for (let i = 0; i + 2 < data.length; i++) {
      if (data[i] !== 0x0a) continue;
      const keyLength: number = data[i + 1];
      if (keyLength < 6 || keyLength > 13) continue;
      const keyEnd = i + 2 + keyLength;
      if (keyEnd + 2 > data.length || data[keyEnd] !== 0x12) continue;
      const column = data.toString('latin1', i + 2, keyEnd);
      if (!CUSTOM_COLUMN.test(column)) continue;
      const aliasLength: number = data[keyEnd + 1];
      if (aliasLength === 0 || aliasLength > 127 || keyEnd + 2 + aliasLength > data.length) continue;
      aliases.set(column, data.toString('utf8', keyEnd + 2, keyEnd + 2 + aliasLength));
    }
  }
  return aliases;
}

/** The indexed column of a visibility index: the one after namespace_id in its definition. */
function indexedColumn(sql: string): string | null {
  const match = /\(\s*namespace_id\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*,/.exec(sql);
  return match ? match[1] : null;
}

/** Index name and definition the dev server uses for a custom column (`Keyword03` → `by_keyword_03`). */
export function customColumnIndex(column: string): { name: string; sql: string } | null {
  const match = INDEXED_CUSTOM_COLUMN.exec(column);
  if (!match) return null;
  const name = `by_${match[1].toLowerCase()}_${match[2]}`;
  return {
    name,
    sql: `CREATE INDEX IF NOT EXISTS ${name} ON ${VISIBILITY_TABLE} (namespace_id, ${column}, (COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id)`,
  };
}

/**
 * Drops the visibility indexes no query needs and (re)creates those of aliased custom columns, in
 * one transaction, on a stopped dev server's database. `requiredAliases` are the attributes that
 * must be found among the aliases (Postflow's): if one is missing, the schema is not what this code
 * knows and nothing is changed.
 */
export function tuneVisibilityIndexes(dbFile: string, requiredAliases: readonly string[]): VisibilityIndexReport {
  const db = new Database(dbFile, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(VISIBILITY_TABLE);
    if (!table) return { dropped: [], created: [], triggers: [], skipped: `no ${VISIBILITY_TABLE} table` };
    const aliases = customAttributeAliases(db);
    const known = new Set(aliases.values());
    const missing = requiredAliases.filter((name) => !known.has(name));
    if (missing.length > 0) return { dropped: [], created: [], triggers: [], skipped: `search attribute aliases not found: ${missing.join(', ')}` };
    const aliasedColumns = new Set(aliases.keys());
    const indexes = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL")
      .all(VISIBILITY_TABLE) as Array<{ name: string; sql: string }>;
    const existing = new Set(indexes.map((index) => index.name));
    // table_xinfo lists the generated columns too.
    const columns = new Set((db.prepare(`PRAGMA table_xinfo(${VISIBILITY_TABLE})`).all() as Array<{ name: string }>).map((c) => c.name));
    const dropped: string[] = [];
    const created: string[] = [];
    let triggers: string[] = [];
    db.transaction(() => {
      triggers = guardFtsUpdateTrigger(db);
      for (const index of indexes) {
        if (KEPT_SYSTEM_INDEXES.includes(index.name)) continue;
        const column = indexedColumn(index.sql);
        // Unknown shapes (a future schema) stay: only the per-column indexes this code knows are dropped.
        if (!column || !index.name.startsWith('by_')) continue;
        if (aliasedColumns.has(column)) continue;
        db.exec(`DROP INDEX IF EXISTS "${index.name.replace(/"/g, '""')}"`);
        dropped.push(index.name);
      }
      for (const column of aliasedColumns) {
        const index = customColumnIndex(column);
        if (!index || existing.has(index.name) || !columns.has(column)) continue;
        db.exec(index.sql);
        created.push(index.name);
      }
    })();
    return { dropped, created, triggers };
  } finally {
    db.close();
  }
}

/** The server's trigger that re-indexes every FTS table of a visibility row on any update of it. */
export const SERVER_FTS_UPDATE_TRIGGER = `${VISIBILITY_TABLE}_au`;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The FTS5 tables whose content is the visibility table (KeywordList and Text attributes). */
export function visibilityFtsTables(db: Database.Database): string[] {
  const rows = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'").all() as Array<{ name: string; sql: string }>;
  const content = new RegExp(`USING\\s+fts5\\s*\\([\\s\\S]*content\\s*=\\s*'${VISIBILITY_TABLE}'`, 'i');
  return rows.filter((row) => IDENTIFIER.test(row.name) && content.test(row.sql)).map((row) => row.name).sort();
}

/**
 * The server's update trigger deletes and re-inserts the row in every FTS table (keyword lists,
 * texts) on every update of the row, and the close of a workflow updates its row: each mail paid
 * an FTS delete and insert of its recipients at its close, for values the close never changes.
 * It is replaced by one trigger per FTS table doing the same two writes, guarded by a WHEN that
 * lets them run only when the row id or one of that table's columns changed — so the FTS content
 * is the same as before after any update. Only the shape this code knows (for each FTS table, a
 * 'delete' of OLD and an insert of NEW, nothing else) is replaced; any other trigger is left.
 */
function guardFtsUpdateTrigger(db: Database.Database): string[] {
  const trigger = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").get(SERVER_FTS_UPDATE_TRIGGER) as { sql: string } | undefined;
  if (!trigger) return [];
  const tables = visibilityFtsTables(db);
  if (tables.length === 0) return [];
  const statements = trigger.sql.replace(/^[\s\S]*?\bBEGIN\b/i, '').replace(/\bEND\s*$/i, '').split(';').map((part) => part.trim()).filter(Boolean);
  // Each statement: INSERT INTO <fts> (…) VALUES ('delete', OLD.rowid, …) or VALUES (NEW.rowid, …).
  const shapes = statements.map((statement) => {
    const match = /^INSERT\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)\s*\([^)]*\)\s*VALUES\s*\(\s*('delete'\s*,\s*OLD|NEW)\.rowid\b/i.exec(statement);
    return match ? `${match[1]} ${match[2].toUpperCase() === 'NEW' ? 'insert' : 'delete'}` : '';
  });
  const expected = tables.flatMap((table) => [`${table} delete`, `${table} insert`]).sort();
  if (shapes.length !== expected.length || [...shapes].sort().some((shape, i) => shape !== expected[i])) return [];
  const definitions: Array<{ name: string; sql: string }> = [];
  for (const table of tables) {
    const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((column) => column.name);
    if (columns.length === 0 || !columns.every((column) => IDENTIFIER.test(column))) return [];
    const changed = ['OLD.rowid IS NOT NEW.rowid', ...columns.map((column) => `OLD.${column} IS NOT NEW.${column}`)].join(' OR ');
    definitions.push({
      name: `${table}_au`,
      sql: `CREATE TRIGGER ${table}_au AFTER UPDATE ON ${VISIBILITY_TABLE} WHEN ${changed}
BEGIN
  INSERT INTO ${table} (${table}, rowid, ${columns.join(', ')}) VALUES ('delete', OLD.rowid, ${columns.map((column) => `OLD.${column}`).join(', ')});
  INSERT INTO ${table} (rowid, ${columns.join(', ')}) VALUES (NEW.rowid, ${columns.map((column) => `NEW.${column}`).join(', ')});
END`,
    });
  }
  db.exec(`DROP TRIGGER ${SERVER_FTS_UPDATE_TRIGGER}`);
  for (const definition of definitions) db.exec(definition.sql);
  return definitions.map((definition) => definition.name);
}
