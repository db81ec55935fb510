import type { SearchIndex } from '../../../search/api/search-index';
import { MAX_SEARCH_RESULTS, type Criterion } from '../../../search/api/search-query';
import type { ImapDeps } from '../types';
import type { SearchKey } from './query';

/** ImapDeps with the search index (app.ts wires it; without it SEARCH evaluates in memory). */
export interface ImapSearchDeps extends ImapDeps {
  search?: SearchIndex;
}

/** Index searches one SEARCH command may run (one per distinct content key). */
export const MAX_INDEX_QUERIES_PER_SEARCH = 50;

const ADDRESS_FIELDS: Record<string, 'from' | 'to' | 'cc' | 'bcc'> = { FROM: 'from', TO: 'to', CC: 'cc', BCC: 'bcc' };

/** The index criterion of a content key, or null when the key is not a content key. */
export function contentCriterion(key: SearchKey): Criterion | null {
  switch (key.type) {
    case 'header': {
      const field = key.field.toUpperCase();
      if (key.value !== '' && ADDRESS_FIELDS[field]) return { type: 'address', field: ADDRESS_FIELDS[field], value: key.value };
      if (key.value !== '' && field === 'SUBJECT') return { type: 'subject', value: key.value };
      return { type: 'header', field: field.toLowerCase(), value: key.value };
    }
    case 'body':
      return { type: 'body', value: key.value };
    case 'text':
      return { type: 'text', value: key.value };
    case 'date':
      return key.field === 'sent' ? { type: 'day', field: 'sent', op: key.op, day: key.day } : null;
    default:
      return null;
  }
}

/** The content keys of a query tree (each node object once). */
export function contentKeys(key: SearchKey): SearchKey[] {
  switch (key.type) {
    case 'not':
      return contentKeys(key.key);
    case 'or':
      return [...contentKeys(key.left), ...contentKeys(key.right)];
    case 'and':
      return key.keys.flatMap(contentKeys);
    default:
      return contentCriterion(key) ? [key] : [];
  }
}

/**
 * Asks the index which messages of the mailbox match each content key, and which of the
 * session's UIDs the index knows. The known UIDs are read first: a document that becomes
 * visible between the two calls is then answered by the index, never missed. Returns null when
 * the query has too many content keys to ask the index (the caller evaluates in memory).
 */
export async function searchContentKeys(
  index: SearchIndex,
  mailboxId: string,
  uids: readonly number[],
  key: SearchKey,
): Promise<{ indexed: ReadonlySet<number>; fromIndex: Map<SearchKey, ReadonlySet<number>> } | null> {
  const keys = contentKeys(key);
  if (keys.length === 0 || keys.length > MAX_INDEX_QUERIES_PER_SEARCH || uids.length === 0) return null;
  const indexed = new Set(await index.indexedUids(mailboxId, uids));
  const fromIndex = new Map<SearchKey, ReadonlySet<number>>();
  const byQuery = new Map<string, ReadonlySet<number>>();
  for (const k of keys) {
    const criterion = contentCriterion(k) as Criterion;
    const cacheKey = JSON.stringify(criterion);
    let matches = byQuery.get(cacheKey);
    if (!matches) {
      const found = new Set<number>();
      // Keyset paging by UID (OpenSearch refuses offsets past its result window).
      for (let from = uids[0]; ; ) {
        const span: Criterion = { type: 'uid', ranges: [{ from, to: uids[uids.length - 1] }] };
        const hits = await index.search({ mailboxIds: [mailboxId], criterion: { type: 'and', criteria: [span, criterion] }, sort: [{ field: 'uid', reverse: false }], limit: MAX_SEARCH_RESULTS });
        for (const hit of hits) found.add(hit.uid);
        if (hits.length < MAX_SEARCH_RESULTS) break;
        from = hits[hits.length - 1].uid + 1;
      }
      matches = found;
      byQuery.set(cacheKey, matches);
    }
    fromIndex.set(k, matches);
  }
  return { indexed, fromIndex };
}
