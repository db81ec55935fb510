import type Database from 'better-sqlite3';
import { GroupCommit } from '../../storage/sqlite/group-commit';
import type { FlagsChange, IndexedMessage, SearchIndex } from '../api/search-index';
import { DAY_MS, dayStart, limitOf, validateQuery, type Criterion, type SearchHit, type SearchQuery, type SortField } from '../api/search-query';

interface Fragment {
  sql: string;
  params: unknown[];
}

const SORT_COLUMNS: Record<SortField, string> = {
  arrival: 'internal_date',
  sentDate: 'COALESCE(sent_date, internal_date)',
  size: 'size',
  subject: 'sort_subject',
  from: 'sort_from',
  to: 'sort_to',
  cc: 'sort_cc',
  displayFrom: 'sort_display_from',
  displayTo: 'sort_display_to',
  uid: 'uid',
};

/** Columns of `search_fts` that IMAP TEXT / JMAP text search. */
const TEXT_COLUMNS = ['subject', 'addr_from', 'addr_to', 'addr_cc', 'addr_bcc', 'headers', 'body', 'attachment_names', 'attachment_text'];

/**
 * Embedded search index on SQLite FTS5 (trigram tokenizer): substring matching as IMAP SEARCH
 * defines it, answered from the index for strings of three characters or more. Runs in the
 * profile's database (schema area `search`), so a message and its document live in one file.
 */
export class SqliteSearchIndex implements SearchIndex {
  private prepared: Statements | undefined;
  /** Writes of concurrent events share one commit (one fsync). */
  private readonly commits: GroupCommit;
  /** Compiled search statements by SQL text (their shape depends on the criterion tree, not on its values). */
  private readonly searches = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.commits = new GroupCommit(db);
    db.function('search_header', { deterministic: true }, (headers: unknown, name: unknown, value: unknown) => (headerContains(String(headers ?? ''), String(name), String(value)) ? 1 : 0));
  }

  /** The write and lookup statements, compiled on first use (the adapter may be built before its schema). */
  private get s(): Statements {
    if (this.prepared) return this.prepared;
    const p = (sql: string): Database.Statement => this.db.prepare(sql);
    this.prepared = {
      findCopy: p("SELECT doc_id AS docId, content_id AS contentId, copy_headers <> '' AS hasCopyHeaders FROM search_messages WHERE mailbox_id = ? AND uid = ?"),
      findContent: p('SELECT content_id FROM search_contents WHERE content_key = ?').pluck(),
      insertContent: p('INSERT INTO search_contents (content_key, refs) VALUES (?, 0) RETURNING content_id').pluck(),
      addRef: p('UPDATE search_contents SET refs = refs + 1 WHERE content_id = ?'),
      dropRef: p('UPDATE search_contents SET refs = refs - 1 WHERE content_id = ? RETURNING refs').pluck(),
      deleteContent: p('DELETE FROM search_contents WHERE content_id = ?'),
      deleteFts: p('DELETE FROM search_fts WHERE rowid = ?'),
      insertFts: p('INSERT INTO search_fts (rowid, subject, addr_from, addr_to, addr_cc, addr_bcc, headers, body, attachment_names, attachment_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      upsertCopy: p(`INSERT INTO search_messages (doc_id, mailbox_id, uid, owner, message_id, thread_id, mod_seq, size, internal_date, sent_date, flags, has_attachment,
          sort_subject, sort_from, sort_to, sort_cc, sort_display_from, sort_display_to, content_id, copy_headers)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (mailbox_id, uid) DO UPDATE SET owner = excluded.owner, message_id = excluded.message_id, thread_id = excluded.thread_id, mod_seq = excluded.mod_seq,
          size = excluded.size, internal_date = excluded.internal_date, sent_date = excluded.sent_date, flags = excluded.flags, has_attachment = excluded.has_attachment,
          sort_subject = excluded.sort_subject, sort_from = excluded.sort_from, sort_to = excluded.sort_to, sort_cc = excluded.sort_cc,
          sort_display_from = excluded.sort_display_from, sort_display_to = excluded.sort_display_to, content_id = excluded.content_id, copy_headers = excluded.copy_headers
        RETURNING doc_id`).pluck(),
      insertCopy: p(`INSERT INTO search_messages (mailbox_id, uid, owner, message_id, thread_id, mod_seq, size, internal_date, sent_date, flags, has_attachment,
          sort_subject, sort_from, sort_to, sort_cc, sort_display_from, sort_display_to, content_id, copy_headers)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      deleteCopy: p('DELETE FROM search_messages WHERE doc_id = ?'),
      insertCopyFts: p('INSERT INTO search_copy_fts (rowid, headers) VALUES (?, ?)'),
      deleteCopyFts: p('DELETE FROM search_copy_fts WHERE rowid = ?'),
      updateFlags: p('UPDATE search_messages SET flags = ?, mod_seq = ? WHERE mailbox_id = ? AND uid = ? AND mod_seq <= ?'),
      copiesOfMailbox: p("SELECT doc_id AS docId, content_id AS contentId, copy_headers <> '' AS hasCopyHeaders FROM search_messages WHERE mailbox_id = ?"),
      copiesOfOwner: p("SELECT doc_id AS docId, content_id AS contentId, copy_headers <> '' AS hasCopyHeaders FROM search_messages WHERE owner = ?"),
      count: p('SELECT count(*) FROM search_messages WHERE mailbox_id = ?').pluck(),
      indexedUids: p('SELECT uid FROM search_messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid').pluck(),
      health: p('SELECT count(*) FROM search_fts WHERE rowid = 0'),
    };
    return this.prepared;
  }

  async index(messages: readonly IndexedMessage[]): Promise<void> {
    const s = this.s;
    await this.commits.run(() => {
      for (const m of messages) {
        const existing = s.findCopy.get(m.mailboxId, m.uid) as Copy | undefined;
        // A keyed content is immutable (a blob never changes): an existing one is reused as it is.
        let contentId = m.contentKey === undefined ? undefined : (s.findContent.get(m.contentKey) as number | undefined);
        if (contentId === undefined) {
          contentId = s.insertContent.get(m.contentKey ?? null) as number;
          s.insertFts.run(contentId, ...contentColumns(m));
        }
        if (existing?.contentId !== contentId) {
          s.addRef.run(contentId);
          if (existing?.contentId != null) this.release(existing.contentId);
        }
        const copyHeaders = headerText(m.copyHeaders ?? []);
        const columns = [
          m.mailboxId, m.uid, m.owner, m.messageId, m.threadId, m.modSeq, m.size, m.internalDate, m.sentDate, flagText(m.flags), m.hasAttachment ? 1 : 0,
          m.sortSubject, m.sortFrom, m.sortTo, m.sortCc, m.sortDisplayFrom, m.sortDisplayTo, contentId, copyHeaders,
        ];
        // A new copy (the usual case, at delivery) is a plain insert; an indexed one is updated in place.
        const docId = existing ? (s.upsertCopy.get(existing.docId, ...columns) as number) : Number(s.insertCopy.run(...columns).lastInsertRowid);
        if (existing?.hasCopyHeaders) s.deleteCopyFts.run(docId);
        if (copyHeaders !== '') s.insertCopyFts.run(docId, copyHeaders);
      }
    });
  }

  async updateFlags(mailboxId: string, changes: readonly FlagsChange[]): Promise<void> {
    const update = this.s.updateFlags;
    await this.commits.run(() => {
      for (const c of changes) update.run(flagText(c.flags), c.modSeq, mailboxId, c.uid, c.modSeq);
    });
  }

  async delete(mailboxId: string, uids: readonly number[]): Promise<void> {
    const find = this.s.findCopy;
    await this.commits.run(() => {
      for (const uid of uids) {
        const copy = find.get(mailboxId, uid) as Copy | undefined;
        if (copy !== undefined) this.deleteCopy(copy);
      }
    });
  }

  async deleteMailbox(mailboxId: string): Promise<void> {
    await this.deleteAll(this.s.copiesOfMailbox, mailboxId);
  }

  async deleteOwner(owner: string): Promise<void> {
    await this.deleteAll(this.s.copiesOfOwner, owner);
  }

  private async deleteAll(select: Database.Statement, value: string): Promise<void> {
    await this.commits.run(() => {
      for (const copy of select.all(value) as Copy[]) this.deleteCopy(copy);
    });
  }

  private deleteCopy(copy: Copy): void {
    this.s.deleteCopy.run(copy.docId);
    if (copy.hasCopyHeaders) this.s.deleteCopyFts.run(copy.docId);
    if (copy.contentId != null) this.release(copy.contentId);
  }

  /** Drops one reference to a content; the last one deletes its FTS5 document. */
  private release(contentId: number): void {
    const s = this.s;
    const refs = s.dropRef.get(contentId) as number | undefined;
    if (refs !== undefined && refs > 0) return;
    s.deleteContent.run(contentId);
    s.deleteFts.run(contentId);
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    validateQuery(query);
    const where = compile(query.criterion);
    const order = [...(query.sort ?? []).map((s) => `${SORT_COLUMNS[s.field]} ${s.reverse ? 'DESC' : 'ASC'}`), 'mailbox_id ASC', 'uid ASC'].join(', ');
    const sql = `SELECT mailbox_id AS mailboxId, uid, message_id AS messageId FROM search_messages
      WHERE mailbox_id IN (SELECT value FROM json_each(?)) AND (${where.sql}) ORDER BY ${order} LIMIT ? OFFSET ?`;
    return this.searchStatement(sql).all(JSON.stringify(query.mailboxIds), ...where.params, limitOf(query), query.offset ?? 0) as SearchHit[];
  }

  /** A search statement, compiled once per SQL shape; the cache is bounded (a client may send endless shapes). */
  private searchStatement(sql: string): Database.Statement {
    let statement = this.searches.get(sql);
    if (statement) {
      this.searches.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.searches.size >= MAX_CACHED_SEARCHES) this.searches.delete(this.searches.keys().next().value as string);
    }
    this.searches.set(sql, statement);
    return statement;
  }

  async count(mailboxId: string): Promise<number> {
    return this.s.count.get(mailboxId) as number;
  }

  async indexedUids(mailboxId: string, uids: readonly number[]): Promise<number[]> {
    return this.s.indexedUids.all(mailboxId, JSON.stringify(uids)) as number[];
  }

  async refresh(): Promise<void> {}

  async checkHealth(): Promise<{ status: 'healthy' | 'unhealthy'; cause: string | null }> {
    try {
      this.s.health.get();
      return { status: 'healthy', cause: null };
    } catch (err) {
      return { status: 'unhealthy', cause: (err as Error).message };
    }
  }

  async close(): Promise<void> {}
}

interface Copy {
  docId: number;
  contentId: number | null;
  /** 1 when the copy has its own header lines (a row in `search_copy_fts`). */
  hasCopyHeaders: number;
}

interface Statements {
  findCopy: Database.Statement;
  findContent: Database.Statement;
  insertContent: Database.Statement;
  addRef: Database.Statement;
  dropRef: Database.Statement;
  deleteContent: Database.Statement;
  deleteFts: Database.Statement;
  insertFts: Database.Statement;
  upsertCopy: Database.Statement;
  insertCopy: Database.Statement;
  deleteCopy: Database.Statement;
  insertCopyFts: Database.Statement;
  deleteCopyFts: Database.Statement;
  updateFlags: Database.Statement;
  copiesOfMailbox: Database.Statement;
  copiesOfOwner: Database.Statement;
  count: Database.Statement;
  indexedUids: Database.Statement;
  health: Database.Statement;
}

/** Search statements kept compiled (LRU). */
export const MAX_CACHED_SEARCHES = 200;

/** The FTS5 columns of a content: its text without the copy's own header fields. */
function contentColumns(m: IndexedMessage): string[] {
  return [
    m.subject.toLowerCase(),
    m.from.toLowerCase(),
    m.to.toLowerCase(),
    m.cc.toLowerCase(),
    m.bcc.toLowerCase(),
    headerText(withoutCopyHeaders(m.headers, m.copyHeaders ?? [])),
    m.body.toLowerCase(),
    m.attachmentNames.join('\n').toLowerCase(),
    m.attachmentText.toLowerCase(),
  ];
}

/** `headers` minus one occurrence of each copy header (they are searched on the copy's row). */
function withoutCopyHeaders(headers: ReadonlyArray<[string, string]>, copy: ReadonlyArray<[string, string]>): Array<[string, string]> {
  if (copy.length === 0) return [...headers];
  const pending = copy.map(([name, value]) => `${name}\0${value}`);
  return headers.filter(([name, value]) => {
    const at = pending.indexOf(`${name}\0${value}`);
    if (at === -1) return true;
    pending.splice(at, 1);
    return false;
  });
}

/** Header fields as lower-case `name: value` lines, as `search_header` reads them. */
function headerText(headers: ReadonlyArray<[string, string]>): string {
  return headers.map(([name, value]) => `${name}: ${value.replace(/[\r\n]+/g, ' ')}`).join('\n').toLowerCase();
}

/** Flags as `\n`-separated lower-case names with a leading and trailing `\n`, so `instr` finds whole flags. */
function flagText(flags: readonly string[]): string {
  return `\n${flags.map((f) => f.toLowerCase()).join('\n')}\n`;
}

function headerContains(headers: string, name: string, value: string): boolean {
  const prefix = `${name.toLowerCase()}: `;
  const needle = value.toLowerCase();
  for (const line of headers.split('\n')) if (line.startsWith(prefix) && line.includes(needle, prefix.length)) return true;
  return false;
}

/** `LIKE` of a substring; patterns with LIKE wildcards are escaped (the index then scans). */
function like(column: string, value: string): Fragment {
  const lower = value.toLowerCase();
  if (/[%_\\]/.test(lower)) return { sql: `${column} LIKE ? ESCAPE '\\'`, params: [`%${lower.replace(/[%_\\]/g, (c) => `\\${c}`)}%`] };
  return { sql: `${column} LIKE ?`, params: [`%${lower}%`] };
}

/**
 * Copies whose content is one of `contents` (a query of FTS5 rowids), plus those `copies` (a query
 * of doc_ids, from `search_copy_fts`), as one doc_id list: the outer scan of a mailbox then checks
 * its rows on the (mailbox_id, uid) index, which holds doc_id, without fetching them.
 */
function copiesOf(contents: string, copies?: string): string {
  return `doc_id IN (SELECT doc_id FROM search_messages WHERE content_id IN (${contents})${copies ? ` UNION ${copies}` : ''})`;
}

/** FTS5 rowids of the contents having `value` in one of `columns`. */
function ftsUnion(columns: string[], value: string): Fragment {
  const parts = columns.map((c) => like(c, value));
  return { sql: parts.map((p) => `SELECT rowid FROM search_fts WHERE ${p.sql}`).join(' UNION '), params: parts.flatMap((p) => p.params) };
}

function ftsIn(columns: string[], value: string): Fragment {
  const union = ftsUnion(columns, value);
  return { sql: copiesOf(union.sql), params: union.params };
}

function compile(c: Criterion): Fragment {
  switch (c.type) {
    case 'all':
      return { sql: '1', params: [] };
    case 'none':
      return { sql: '0', params: [] };
    case 'flag':
      return { sql: `instr(flags, ?) ${c.present ? '>' : '='} 0`, params: [`\n${c.flag.toLowerCase()}\n`] };
    case 'uid':
      return { sql: 'EXISTS (SELECT 1 FROM json_each(?) r WHERE uid BETWEEN r.value ->> 0 AND r.value ->> 1)', params: [JSON.stringify(c.ranges.map((r) => [r.from, r.to]))] };
    case 'size':
      return { sql: `size ${c.op === 'gt' ? '>' : c.op === 'ge' ? '>=' : '<'} ?`, params: [c.size] };
    case 'day': {
      const column = c.field === 'internal' ? 'internal_date' : 'sent_date';
      const start = dayStart(c.day);
      const guard = c.field === 'sent' ? 'sent_date IS NOT NULL AND ' : '';
      if (c.op === 'before') return { sql: `(${guard}${column} < ?)`, params: [start] };
      if (c.op === 'since') return { sql: `(${guard}${column} >= ?)`, params: [start] };
      return { sql: `(${guard}${column} >= ? AND ${column} < ?)`, params: [start, start + DAY_MS] };
    }
    case 'time': {
      const column = c.field === 'internal' ? 'internal_date' : 'sent_date';
      const guard = c.field === 'sent' ? 'sent_date IS NOT NULL AND ' : '';
      return { sql: `(${guard}${column} ${c.op === 'before' ? '<' : '>='} ?)`, params: [c.time] };
    }
    case 'header': {
      const name = c.field.toLowerCase();
      // The copy's own header fields (Delivered-To…) are on its row, the shared ones in the content.
      if (c.value === '') {
        return {
          sql: copiesOf('SELECT rowid FROM search_fts WHERE search_header(headers, ?, ?)', 'SELECT rowid FROM search_copy_fts WHERE search_header(headers, ?, ?)'),
          params: [name, '', name, ''],
        };
      }
      const l = like('headers', c.value);
      return {
        sql: copiesOf(`SELECT rowid FROM search_fts WHERE ${l.sql} AND search_header(headers, ?, ?)`, `SELECT rowid FROM search_copy_fts WHERE ${l.sql} AND search_header(headers, ?, ?)`),
        params: [...l.params, name, c.value, ...l.params, name, c.value],
      };
    }
    case 'address':
      return ftsIn([`addr_${c.field}`], c.value);
    case 'subject':
      return ftsIn(['subject'], c.value);
    case 'body':
      return ftsIn(['body'], c.value);
    case 'text': {
      const content = ftsUnion(TEXT_COLUMNS, c.value);
      const copy = like('headers', c.value);
      return { sql: copiesOf(content.sql, `SELECT rowid FROM search_copy_fts WHERE ${copy.sql}`), params: [...content.params, ...copy.params] };
    }
    case 'attachmentName':
      return ftsIn(['attachment_names'], c.value);
    case 'hasAttachment':
      return { sql: `has_attachment = ${c.value ? 1 : 0}`, params: [] };
    case 'modseq':
      return { sql: 'mod_seq >= ?', params: [c.modSeq] };
    case 'mailbox':
      return { sql: 'mailbox_id IN (SELECT value FROM json_each(?))', params: [JSON.stringify(c.ids)] };
    case 'messageId':
      return { sql: 'message_id IN (SELECT value FROM json_each(?))', params: [JSON.stringify(c.ids)] };
    case 'threadId':
      return { sql: 'thread_id IN (SELECT value FROM json_each(?))', params: [JSON.stringify(c.ids)] };
    case 'not': {
      const inner = compile(c.criterion);
      return { sql: `NOT (${inner.sql})`, params: inner.params };
    }
    case 'and':
    case 'or': {
      if (c.criteria.length === 0) return { sql: c.type === 'and' ? '1' : '0', params: [] };
      const parts = c.criteria.map(compile);
      return { sql: parts.map((p) => `(${p.sql})`).join(c.type === 'and' ? ' AND ' : ' OR '), params: parts.flatMap((p) => p.params) };
    }
  }
}
