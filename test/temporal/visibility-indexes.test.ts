import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { TemporalDevServer, findTemporalCli } from '../../temporal/dev-server';
import {
  KEPT_SYSTEM_INDEXES,
  SERVER_FTS_UPDATE_TRIGGER,
  VISIBILITY_TABLE,
  customAttributeAliases,
  customColumnIndex,
  tuneVisibilityIndexes,
  visibilityFtsTables,
} from '../../temporal/visibility-indexes';
import {
  NEXT_ATTEMPT_ATTRIBUTE,
  POSTFLOW_SEARCH_ATTRIBUTES,
  QUEUE_ATTRIBUTE,
  RECIPIENTS_ATTRIBUTE,
  SENDER_ATTRIBUTE,
  SPOOL_QUEUE,
  STATE_ATTRIBUTE,
} from '../../workflows/lib/search-attributes';
import { freePort } from '../helpers/ports';

jest.setTimeout(120_000);

const logger = pino({ level: 'silent' });
const REQUIRED = POSTFLOW_SEARCH_ATTRIBUTES.map((key) => key.name);


function visibilityIndexes(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name").all(VISIBILITY_TABLE) as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** proto3 map<string,string> entries as the server stores the aliases (field 8 of the namespace config blob). */
function aliasBlob(aliases: Record<string, string>, prefix = Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63])): Buffer {
  const entries = Object.entries(aliases).map(([column, alias]) => {
    const entry = Buffer.concat([Buffer.from([0x0a, column.length]), Buffer.from(column, 'latin1'), Buffer.from([0x12, Buffer.byteLength(alias)]), Buffer.from(alias)]);
    return Buffer.concat([Buffer.from([0x42, entry.length]), entry]);
  });
  return Buffer.concat([prefix, ...entries]);
}

/** A database with the shape of the dev server's: namespaces blobs and per-column visibility indexes. */
function syntheticDatabase(file: string, aliases: Record<string, string>, withVisibility = true): void {
  const db = new Database(file);
  db.exec('CREATE TABLE namespaces (id TEXT, data BLOB)');
  db.prepare('INSERT INTO namespaces VALUES (?, ?)').run('default', aliasBlob(aliases));
  db.prepare('INSERT INTO namespaces VALUES (?, ?)').run('empty', null);
  if (withVisibility) {
    db.exec(`CREATE TABLE ${VISIBILITY_TABLE} (namespace_id TEXT, run_id TEXT, workflow_id TEXT, status INT, task_queue TEXT, close_time TEXT, start_time TEXT,
      history_length INT, Keyword01 TEXT, Keyword02 TEXT, Keyword03 TEXT, Datetime01 TEXT, Bool01 INT, KeywordList01 TEXT, PRIMARY KEY (namespace_id, run_id))`);
    const tail = "(COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id";
    db.exec(`CREATE INDEX default_idx ON ${VISIBILITY_TABLE} (namespace_id, ${tail})`);
    for (const [name, column] of [['by_status', 'status'], ['by_task_queue', 'task_queue'], ['by_workflow_id', 'workflow_id'], ['by_history_length', 'history_length'],
      ['by_keyword_01', 'Keyword01'], ['by_keyword_02', 'Keyword02'], ['by_datetime_01', 'Datetime01'], ['by_bool_01', 'Bool01']]) {
      db.exec(`CREATE INDEX ${name} ON ${VISIBILITY_TABLE} (namespace_id, ${column}, ${tail})`);
    }
    // An index of a shape this code does not know stays.
    db.exec(`CREATE INDEX by_something_new ON ${VISIBILITY_TABLE} (status, run_id)`);
    db.prepare(`INSERT INTO ${VISIBILITY_TABLE} (namespace_id, run_id, Keyword01) VALUES ('ns', 'r1', 'spool')`).run();
  }
  db.close();
}

describe('lean visibility indexes (synthetic database)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-visidx-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const allAliases = { Keyword01: 'PostflowQueue', Keyword03: 'PostflowState', Datetime01: 'PostflowNextAttempt', KeywordList01: 'PostflowRecipients', Keyword05: 'PostflowSender' };

  it('reads the aliases from the namespace blobs and ignores garbage around them', () => {
    const file = path.join(dir, 't.db');
    syntheticDatabase(file, allAliases);
    const db = new Database(file);
    // Random bytes, truncated entries and a non-column key must not produce aliases.
    db.prepare('INSERT INTO namespaces VALUES (?, ?)').run('noise', Buffer.concat([Buffer.from([0x0a, 0x09]), Buffer.from('Keyword0'), Buffer.from([0x0a, 0x07]), Buffer.from('Nothing'), Buffer.from([0x12, 0x02, 0x61, 0x62, 0x0a, 0x09]), Buffer.from('Keyword09'), Buffer.from([0x12, 0x7f, 0x61])]));
    try {
      const aliases = customAttributeAliases(db);
      expect(Object.fromEntries(aliases)).toEqual(allAliases);
    } finally {
      db.close();
    }
  });

  it('drops the per-column indexes no query needs, keeps the system ones, the aliased columns and unknown shapes', () => {
    const file = path.join(dir, 't.db');
    syntheticDatabase(file, allAliases);
    const report = tuneVisibilityIndexes(file, REQUIRED);
    expect(report.skipped).toBeUndefined();
    expect(report.dropped.sort()).toEqual(['by_bool_01', 'by_history_length', 'by_keyword_02']);
    // Keyword03 is aliased but had no index (an attribute registered after a tuning): created.
    // Keyword05 is aliased but is no column of this table: no index is invented for it.
    expect(report.created).toEqual(['by_keyword_03']);
    expect(visibilityIndexes(file)).toEqual(
      ['by_datetime_01', 'by_keyword_01', 'by_keyword_03', 'by_something_new', 'by_status', 'by_task_queue', 'by_workflow_id', 'default_idx'],
    );
    // Idempotent; the rows are untouched.
    expect(tuneVisibilityIndexes(file, REQUIRED)).toEqual({ dropped: [], created: [], triggers: [] });
    const db = new Database(file, { readonly: true });
    expect(db.prepare(`SELECT Keyword01 FROM ${VISIBILITY_TABLE} WHERE run_id = 'r1'`).get()).toEqual({ Keyword01: 'spool' });
    db.close();
  });

  it('changes nothing when one of the required attributes is not among the aliases', () => {
    const file = path.join(dir, 't.db');
    syntheticDatabase(file, { Keyword01: 'PostflowQueue' });
    const before = visibilityIndexes(file);
    const report = tuneVisibilityIndexes(file, REQUIRED);
    expect(report.skipped).toMatch(/PostflowState/);
    expect(report.dropped).toEqual([]);
    expect(visibilityIndexes(file)).toEqual(before);
  });

  it('changes nothing without a visibility table, and refuses a missing file', () => {
    const file = path.join(dir, 't.db');
    syntheticDatabase(file, allAliases, false);
    expect(tuneVisibilityIndexes(file, REQUIRED).skipped).toMatch(/no executions_visibility/);
    expect(() => tuneVisibilityIndexes(path.join(dir, 'missing.db'), REQUIRED)).toThrow();
  });

  it('builds the index definitions the dev server uses, only for B-tree indexed column types', () => {
    expect(customColumnIndex('Keyword07')?.name).toBe('by_keyword_07');
    expect(customColumnIndex('Datetime02')?.sql).toContain('(namespace_id, Datetime02, (COALESCE(close_time');
    expect(customColumnIndex('KeywordList01')).toBeNull();
    expect(customColumnIndex('Text01')).toBeNull();
    expect(customColumnIndex('Keyword1; DROP TABLE x')).toBeNull();
    expect(KEPT_SYSTEM_INDEXES).toEqual(expect.arrayContaining(['default_idx', 'by_task_queue', 'by_status', 'by_workflow_id', 'by_temporal_namespace_division']));
  });
});


function triggers(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** FTS5 'integrity-check' with rank 1: the index must hold exactly what the content table holds. */
function ftsConsistent(db: Database.Database, table: string): void {
  db.prepare(`INSERT INTO ${table} (${table}, rank) VALUES ('integrity-check', 1)`).run();
}

const KEYWORD_FTS = 'executions_visibility_fts_keyword_list';
const TEXT_FTS = 'executions_visibility_fts_text';

/** The server's FTS tables and triggers (as created by dev server 1.32), on the synthetic table. */
function addServerFts(file: string, updateTrigger?: string): void {
  const db = new Database(file);
  db.exec(`CREATE VIRTUAL TABLE ${TEXT_FTS} USING fts5 (Text01, content='${VISIBILITY_TABLE}', tokenize="unicode61 remove_diacritics 2")`);
  db.exec(`CREATE VIRTUAL TABLE ${KEYWORD_FTS} USING fts5 (BuildIds, KeywordList01, content='${VISIBILITY_TABLE}', tokenize="unicode61 remove_diacritics 0 categories 'C* L* M* N* P* S* Z*' separators '♡'")`);
  db.exec(`ALTER TABLE ${VISIBILITY_TABLE} ADD COLUMN Text01 TEXT`);
  db.exec(`ALTER TABLE ${VISIBILITY_TABLE} ADD COLUMN BuildIds TEXT`);
  const ins = (t: string, cols: string[], who: 'NEW' | 'OLD', del: boolean) =>
    `INSERT INTO ${t} (${del ? `${t}, ` : ''}rowid, ${cols.join(', ')}) VALUES (${del ? "'delete', " : ''}${who}.rowid, ${cols.map((c) => `${who}.${c}`).join(', ')});`;
  const text = ['Text01'];
  const keywords = ['BuildIds', 'KeywordList01'];
  db.exec(`CREATE TRIGGER executions_visibility_ai AFTER INSERT ON ${VISIBILITY_TABLE} BEGIN ${ins(TEXT_FTS, text, 'NEW', false)} ${ins(KEYWORD_FTS, keywords, 'NEW', false)} END`);
  db.exec(`CREATE TRIGGER executions_visibility_ad AFTER DELETE ON ${VISIBILITY_TABLE} BEGIN ${ins(TEXT_FTS, text, 'OLD', true)} ${ins(KEYWORD_FTS, keywords, 'OLD', true)} END`);
  db.exec(updateTrigger ?? `CREATE TRIGGER ${SERVER_FTS_UPDATE_TRIGGER} AFTER UPDATE ON ${VISIBILITY_TABLE}
BEGIN
  ${ins(TEXT_FTS, text, 'OLD', true)}
  ${ins(TEXT_FTS, text, 'NEW', false)}

  ${ins(KEYWORD_FTS, keywords, 'OLD', true)}
  ${ins(KEYWORD_FTS, keywords, 'NEW', false)}
END`);
  // Index the row written before the FTS tables existed: every check starts from a consistent index.
  for (const table of [TEXT_FTS, KEYWORD_FTS]) db.prepare(`INSERT INTO ${table} (${table}) VALUES ('rebuild')`).run();
  // The server joins a keyword list's values with '♡' (its tokenizer's only separator).
  db.prepare(`INSERT INTO ${VISIBILITY_TABLE} (namespace_id, run_id, Keyword01, KeywordList01) VALUES ('ns', 'r2', 'spool', 'a@example.com♡b@example.com')`).run();
  db.close();
}

describe('guarded FTS update triggers (synthetic database)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-visfts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const aliases = { Keyword01: 'PostflowQueue', Keyword03: 'PostflowState', Datetime01: 'PostflowNextAttempt', KeywordList01: 'PostflowRecipients', Keyword05: 'PostflowSender' };
  const matches = (db: Database.Database, value: string): string[] =>
    (db.prepare(`SELECT v.run_id FROM ${VISIBILITY_TABLE} v WHERE v.rowid IN (SELECT rowid FROM ${KEYWORD_FTS} WHERE ${KEYWORD_FTS} MATCH ?) ORDER BY v.run_id`).all(`KeywordList01 : "${value}"`) as Array<{ run_id: string }>).map((r) => r.run_id);

  it('re-indexes a row only when a column of that FTS table changed, leaving each index as its content', () => {
    const file = path.join(dir, 't.db');
    syntheticDatabase(file, aliases);
    addServerFts(file);
    const report = tuneVisibilityIndexes(file, REQUIRED);
    expect(report.triggers).toEqual([`${KEYWORD_FTS}_au`, `${TEXT_FTS}_au`]);
    expect(triggers(file)).toEqual(['executions_visibility_ad', 'executions_visibility_ai', `${KEYWORD_FTS}_au`, `${TEXT_FTS}_au`]);
    const db = new Database(file);
    try {
      expect(visibilityFtsTables(db)).toEqual([KEYWORD_FTS, TEXT_FTS]);
      expect(matches(db, 'b@example.com')).toEqual(['r2']);
      // A close: status and close time change, the keyword list and texts do not. One row written,
      // no FTS write (total_changes counts the writes of trigger programs too).
      const before = db.prepare('SELECT total_changes() AS n').get() as { n: number };
      db.prepare(`UPDATE ${VISIBILITY_TABLE} SET status = 2, close_time = '2026-12-01 10:00:00+00:00' WHERE run_id = 'r2'`).run();
      const after = db.prepare('SELECT total_changes() AS n').get() as { n: number };
      expect(after.n - before.n).toBe(1);
      expect(matches(db, 'b@example.com')).toEqual(['r2']);
      ftsConsistent(db, KEYWORD_FTS);
      ftsConsistent(db, TEXT_FTS);
      // A changed keyword list is re-indexed: the old value no longer matches, the new one does.
      db.prepare(`UPDATE ${VISIBILITY_TABLE} SET KeywordList01 = 'c@example.com' WHERE run_id = 'r2'`).run();
      expect(matches(db, 'b@example.com')).toEqual([]);
      expect(matches(db, 'c@example.com')).toEqual(['r2']);
      // So is a text, from NULL to a value and back.
      db.prepare(`UPDATE ${VISIBILITY_TABLE} SET Text01 = 'quarterly report' WHERE run_id = 'r2'`).run();
      expect(db.prepare(`SELECT count(*) AS n FROM ${TEXT_FTS} WHERE ${TEXT_FTS} MATCH 'quarterly'`).get()).toEqual({ n: 1 });
      db.prepare(`UPDATE ${VISIBILITY_TABLE} SET Text01 = NULL WHERE run_id = 'r2'`).run();
      expect(db.prepare(`SELECT count(*) AS n FROM ${TEXT_FTS} WHERE ${TEXT_FTS} MATCH 'quarterly'`).get()).toEqual({ n: 0 });
      // The server's insert and delete triggers are untouched.
      db.prepare(`INSERT INTO ${VISIBILITY_TABLE} (namespace_id, run_id, KeywordList01) VALUES ('ns', 'r3', 'c@example.com')`).run();
      expect(matches(db, 'c@example.com')).toEqual(['r2', 'r3']);
      db.prepare(`DELETE FROM ${VISIBILITY_TABLE} WHERE run_id = 'r2'`).run();
      expect(matches(db, 'c@example.com')).toEqual(['r3']);
      ftsConsistent(db, KEYWORD_FTS);
      ftsConsistent(db, TEXT_FTS);
    } finally {
      db.close();
    }
    // Idempotent: the server's trigger is gone, nothing more to replace.
    expect(tuneVisibilityIndexes(file, REQUIRED).triggers).toEqual([]);
  });

  it('leaves an update trigger of a shape it does not know', () => {
    const file = path.join(dir, 't.db');
    syntheticDatabase(file, aliases);
    addServerFts(file, `CREATE TRIGGER ${SERVER_FTS_UPDATE_TRIGGER} AFTER UPDATE ON ${VISIBILITY_TABLE}
BEGIN
  INSERT INTO ${KEYWORD_FTS} (${KEYWORD_FTS}, rowid, BuildIds, KeywordList01) VALUES ('delete', OLD.rowid, OLD.BuildIds, OLD.KeywordList01);
  INSERT INTO ${KEYWORD_FTS} (rowid, BuildIds, KeywordList01) VALUES (NEW.rowid, NEW.BuildIds, NEW.KeywordList01);
END`);
    const report = tuneVisibilityIndexes(file, REQUIRED);
    expect(report.triggers).toEqual([]);
    expect(report.dropped.length).toBeGreaterThan(0);
    expect(triggers(file)).toContain(SERVER_FTS_UPDATE_TRIGGER);
  });
});

describe('temporal.visibilityIndexes setting', () => {
  it('defaults to lean, takes all from the environment, refuses other values', () => {
    expect(loadConfig({ env: {} }).temporal.visibilityIndexes).toBe('lean');
    expect(loadConfig({ env: { POSTFLOW_TEMPORAL_VISIBILITY_INDEXES: 'all' } }).temporal.visibilityIndexes).toBe('all');
    expect(() => loadConfig({ env: { POSTFLOW_TEMPORAL_VISIBILITY_INDEXES: 'none' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { POSTFLOW_TEMPORAL_VISIBILITY_INDEXES: 'none' } })).toThrow(/visibilityIndexes/);
  });

  it('lets an explicit option win over the environment fallback', () => {
    const previous = process.env.POSTFLOW_TEMPORAL_VISIBILITY_INDEXES;
    process.env.POSTFLOW_TEMPORAL_VISIBILITY_INDEXES = 'all';
    try {
      const options = { cliPath: 'temporal', dataDir: '/nonexistent', port: 7999, uiPort: 8999, logger };
      expect(new TemporalDevServer(options).visibilityIndexMode).toBe('all');
      expect(new TemporalDevServer({ ...options, visibilityIndexes: 'lean' }).visibilityIndexMode).toBe('lean');
      process.env.POSTFLOW_TEMPORAL_VISIBILITY_INDEXES = 'garbage';
      expect(new TemporalDevServer(options).visibilityIndexMode).toBe('lean');
    } finally {
      if (previous === undefined) delete process.env.POSTFLOW_TEMPORAL_VISIBILITY_INDEXES;
      else process.env.POSTFLOW_TEMPORAL_VISIBILITY_INDEXES = previous;
    }
  });
});

describe('lean visibility indexes (real dev server)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'postflow-visidx-server-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('tunes a new database, keeps the queue queries answering, and survives a restart', async () => {
    const cli = findTemporalCli('', process.env);
    const port = await freePort();
    const uiPort = await freePort();
    const server = new TemporalDevServer({ cliPath: cli, dataDir: dir, port, uiPort, logger, visibilityIndexes: 'lean' });
    await server.start();
    const taskQueue = `visidx-test-${Date.now()}`;
    try {
      const indexes = visibilityIndexes(server.databaseFile);
      for (const kept of KEPT_SYSTEM_INDEXES) expect(indexes).toContain(kept);
      expect(indexes).not.toContain('by_history_length');
      expect(indexes).not.toContain('by_bool_01');
      // One index per aliased Keyword/Datetime attribute of ours (their columns vary per database).
      const db = new Database(server.databaseFile, { readonly: true });
      const aliases = customAttributeAliases(db);
      db.close();
      const ours = [...aliases].filter(([, alias]) => REQUIRED.includes(alias));
      expect(ours.map(([, alias]) => alias).sort()).toEqual([...REQUIRED].sort());
      for (const [column] of ours) {
        const index = customColumnIndex(column);
        if (index) expect(indexes).toContain(index.name);
      }
      expect(indexes.length).toBeLessThan(20);

      const connection = await Connection.connect({ address: server.address });
      try {
        const client = new Client({ connection, namespace: 'default' });
        const workflowIds: string[] = [];
        for (const [i, queue] of [SPOOL_QUEUE, SPOOL_QUEUE, 'error'].entries()) {
          workflowIds.push(`mail-visidx-${i}-${Date.now()}`);
          await client.workflow.start('processMail', {
            workflowId: workflowIds[i],
            taskQueue,
            args: [{}],
            typedSearchAttributes: [
              { key: QUEUE_ATTRIBUTE, value: queue },
              { key: STATE_ATTRIBUTE, value: i === 1 ? 'delayed' : 'processing' },
              { key: SENDER_ATTRIBUTE, value: `s${i}@example.com` },
              { key: RECIPIENTS_ATTRIBUTE, value: ['b@example.com', `r${i}@example.com`] },
              { key: NEXT_ATTEMPT_ATTRIBUTE, value: new Date(Date.now() + i * 60_000) },
            ],
          });
        }
        const count = async (query: string): Promise<number> => (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running" AND ${query}`)).count;
        let spool = 0;
        for (let i = 0; i < 50 && spool < 2; i++) {
          spool = await count(`PostflowQueue = "${SPOOL_QUEUE}"`);
          if (spool < 2) await new Promise((r) => setTimeout(r, 200));
        }
        expect(spool).toBe(2);
        expect(await count(`PostflowQueue = "error"`)).toBe(1);
        expect(await count(`PostflowQueue = "${SPOOL_QUEUE}" AND PostflowState = "delayed"`)).toBe(1);
        expect(await count(`PostflowSender = "s0@example.com"`)).toBe(1);
        expect(await count(`PostflowRecipients = "b@example.com"`)).toBe(3);
        expect(await count(`PostflowNextAttempt > "${new Date(Date.now() + 30_000).toISOString()}"`)).toBe(2);
        const listed: string[] = [];
        for await (const info of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND PostflowQueue = "${SPOOL_QUEUE}"` })) listed.push(info.workflowId);
        expect(listed).toHaveLength(2);

        // A close updates the visibility row (status, close time) but not its keyword list: the
        // guarded FTS triggers leave its entries, and the closed mail is still found by recipient.
        await client.workflow.getHandle(workflowIds[0]).terminate('visibility test');
        const all = async (query: string): Promise<number> => (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ${query}`)).count;
        let closed = 0;
        for (let i = 0; i < 50 && closed < 1; i++) {
          closed = await all(`ExecutionStatus = "Terminated" AND PostflowRecipients = "r0@example.com"`);
          if (closed < 1) await new Promise((r) => setTimeout(r, 200));
        }
        expect(closed).toBe(1);
        expect(await all(`PostflowRecipients = "b@example.com"`)).toBe(3);
        expect(await count(`PostflowRecipients = "b@example.com"`)).toBe(2);
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
    const tuned = new Database(server.databaseFile);
    try {
      const fts = visibilityFtsTables(tuned);
      expect(fts).toEqual([KEYWORD_FTS, TEXT_FTS]);
      for (const table of fts) ftsConsistent(tuned, table);
    } finally {
      tuned.close();
    }
    expect(triggers(server.databaseFile)).toEqual(expect.arrayContaining([`${KEYWORD_FTS}_au`, `${TEXT_FTS}_au`]));
    expect(triggers(server.databaseFile)).not.toContain(SERVER_FTS_UPDATE_TRIGGER);

    // A restart of the same database neither recreates the dropped indexes nor loses a queued mail.
    const before = visibilityIndexes(server.databaseFile);
    const again = new TemporalDevServer({ cliPath: cli, dataDir: dir, port, uiPort, logger, visibilityIndexes: 'lean' });
    await again.start();
    try {
      expect(visibilityIndexes(again.databaseFile)).toEqual(before);
      const connection = await Connection.connect({ address: again.address });
      try {
        const client = new Client({ connection, namespace: 'default' });
        expect((await client.workflow.count(`TaskQueue = "${taskQueue}" AND PostflowQueue = "${SPOOL_QUEUE}"`)).count).toBe(2);
      } finally {
        await connection.close();
      }
    } finally {
      await again.stop();
    }
  });

  it('keeps every index of the server schema with visibilityIndexes = all', async () => {
    const server = new TemporalDevServer({ cliPath: findTemporalCli('', process.env), dataDir: dir, port: await freePort(), uiPort: await freePort(), logger, visibilityIndexes: 'all' });
    await server.start();
    try {
      const indexes = visibilityIndexes(server.databaseFile);
      expect(indexes).toContain('by_history_length');
      expect(triggers(server.databaseFile)).toContain(SERVER_FTS_UPDATE_TRIGGER);
      expect(indexes).toContain('by_bool_01');
      expect(indexes.length).toBeGreaterThan(50);
      expect(server.describeSettings()).toContain('visibility indexes all');
    } finally {
      await server.stop();
    }
  });
});
