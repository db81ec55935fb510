import type Database from 'better-sqlite3';
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
  constructor(private readonly db: Database.Database) {
    db.function('search_header', { deterministic: true }, (headers: unknown, name: unknown, value: unknown) => (headerContains(String(headers ?? ''), String(name), String(value)) ? 1 : 0));
  }

  async index(messages: readonly IndexedMessage[]): Promise<void> {
    const findDoc = this.db.prepare('SELECT doc_id FROM search_messages WHERE mailbox_id = ? AND uid = ?').pluck();
    const deleteFts = this.db.prepare('DELETE FROM search_fts WHERE rowid = ?');
    const upsert = this.db.prepare(`INSERT INTO search_messages (doc_id, mailbox_id, uid, owner, message_id, thread_id, mod_seq, size, internal_date, sent_date, flags, has_attachment,
        sort_subject, sort_from, sort_to, sort_cc, sort_display_from, sort_display_to)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (mailbox_id, uid) DO UPDATE SET owner = excluded.owner, message_id = excluded.message_id, thread_id = excluded.thread_id, mod_seq = excluded.mod_seq,
        size = excluded.size, internal_date = excluded.internal_date, sent_date = excluded.sent_date, flags = excluded.flags, has_attachment = excluded.has_attachment,
        sort_subject = excluded.sort_subject, sort_from = excluded.sort_from, sort_to = excluded.sort_to, sort_cc = excluded.sort_cc,
        sort_display_from = excluded.sort_display_from, sort_display_to = excluded.sort_display_to
      RETURNING doc_id`).pluck();
    const insertFts = this.db.prepare(
      'INSERT INTO search_fts (rowid, subject, addr_from, addr_to, addr_cc, addr_bcc, headers, body, attachment_names, attachment_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const m of messages) {
        const existing = findDoc.get(m.mailboxId, m.uid) as number | undefined;
        if (existing !== undefined) deleteFts.run(existing);
        const docId = upsert.get(
          existing ?? null, m.mailboxId, m.uid, m.owner, m.messageId, m.threadId, m.modSeq, m.size, m.internalDate, m.sentDate, flagText(m.flags), m.hasAttachment ? 1 : 0,
          m.sortSubject, m.sortFrom, m.sortTo, m.sortCc, m.sortDisplayFrom, m.sortDisplayTo,
        ) as number;
        insertFts.run(
          docId,
          m.subject.toLowerCase(),
          m.from.toLowerCase(),
          m.to.toLowerCase(),
          m.cc.toLowerCase(),
          m.bcc.toLowerCase(),
          m.headers.map(([name, value]) => `${name}: ${value.replace(/[\r\n]+/g, ' ')}`).join('\n').toLowerCase(),
          m.body.toLowerCase(),
          m.attachmentNames.join('\n').toLowerCase(),
          m.attachmentText.toLowerCase(),
        );
      }
    })();
  }

  async updateFlags(mailboxId: string, changes: readonly FlagsChange[]): Promise<void> {
    const update = this.db.prepare('UPDATE search_messages SET flags = ?, mod_seq = ? WHERE mailbox_id = ? AND uid = ? AND mod_seq <= ?');
    this.db.transaction(() => {
      for (const c of changes) update.run(flagText(c.flags), c.modSeq, mailboxId, c.uid, c.modSeq);
    })();
  }

  async delete(mailboxId: string, uids: readonly number[]): Promise<void> {
    const find = this.db.prepare('SELECT doc_id FROM search_messages WHERE mailbox_id = ? AND uid = ?').pluck();
    this.db.transaction(() => {
      for (const uid of uids) {
        const docId = find.get(mailboxId, uid) as number | undefined;
        if (docId !== undefined) this.deleteDoc(docId);
      }
    })();
  }

  async deleteMailbox(mailboxId: string): Promise<void> {
    this.deleteWhere('mailbox_id = ?', mailboxId);
  }

  async deleteOwner(owner: string): Promise<void> {
    this.deleteWhere('owner = ?', owner);
  }

  private deleteWhere(clause: string, value: string): void {
    const ids = this.db.prepare(`SELECT doc_id FROM search_messages WHERE ${clause}`).pluck().all(value) as number[];
    this.db.transaction(() => {
      for (const id of ids) this.deleteDoc(id);
    })();
  }

  private deleteDoc(docId: number): void {
    this.db.prepare('DELETE FROM search_fts WHERE rowid = ?').run(docId);
    this.db.prepare('DELETE FROM search_messages WHERE doc_id = ?').run(docId);
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    validateQuery(query);
    const where = compile(query.criterion);
    const order = [...(query.sort ?? []).map((s) => `${SORT_COLUMNS[s.field]} ${s.reverse ? 'DESC' : 'ASC'}`), 'mailbox_id ASC', 'uid ASC'].join(', ');
    const sql = `SELECT mailbox_id AS mailboxId, uid, message_id AS messageId FROM search_messages
      WHERE mailbox_id IN (SELECT value FROM json_each(?)) AND (${where.sql}) ORDER BY ${order} LIMIT ? OFFSET ?`;
    return this.db.prepare(sql).all(JSON.stringify(query.mailboxIds), ...where.params, limitOf(query), query.offset ?? 0) as SearchHit[];
  }

  async count(mailboxId: string): Promise<number> {
    return this.db.prepare('SELECT count(*) FROM search_messages WHERE mailbox_id = ?').pluck().get(mailboxId) as number;
  }

  async indexedUids(mailboxId: string, uids: readonly number[]): Promise<number[]> {
    return this.db
      .prepare('SELECT uid FROM search_messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid')
      .pluck()
      .all(mailboxId, JSON.stringify(uids)) as number[];
  }

  async refresh(): Promise<void> {}

  async checkHealth(): Promise<{ status: 'healthy' | 'unhealthy'; cause: string | null }> {
    try {
      this.db.prepare('SELECT count(*) FROM search_fts WHERE rowid = 0').get();
      return { status: 'healthy', cause: null };
    } catch (err) {
      return { status: 'unhealthy', cause: (err as Error).message };
    }
  }

  async close(): Promise<void> {}
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

function ftsIn(columns: string[], value: string): Fragment {
  const parts = columns.map((c) => like(c, value));
  return { sql: `doc_id IN (${parts.map((p) => `SELECT rowid FROM search_fts WHERE ${p.sql}`).join(' UNION ')})`, params: parts.flatMap((p) => p.params) };
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
      if (c.value === '') return { sql: 'doc_id IN (SELECT rowid FROM search_fts WHERE search_header(headers, ?, ?))', params: [name, ''] };
      const l = like('headers', c.value);
      return { sql: `doc_id IN (SELECT rowid FROM search_fts WHERE ${l.sql} AND search_header(headers, ?, ?))`, params: [...l.params, name, c.value] };
    }
    case 'address':
      return ftsIn([`addr_${c.field}`], c.value);
    case 'subject':
      return ftsIn(['subject'], c.value);
    case 'body':
      return ftsIn(['body'], c.value);
    case 'text':
      return ftsIn(TEXT_COLUMNS, c.value);
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
