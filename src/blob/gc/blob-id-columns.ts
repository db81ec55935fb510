/**
 * How the reference sources recognise blob references in metadata they do not own (the mailbox and
 * mail-repository schemas evolve with their own areas):
 * - a column whose name ends in `blob_id` or `blob_ids` (any table of the schema) holds blob ids,
 *   as text, a collection of text, or a JSON array of text;
 * - a JSON document (a mail repository's stored mail, a workflow's input) holds them under keys
 *   ending in `BlobId` / `BlobIds` (`messageBlobId`, `attachments[].blobId`…), at any depth.
 * A store that keeps references in another shape must register its own BlobReferenceSource.
 */
export const BLOB_ID_COLUMN = /blob_?ids?$/i;
const BLOB_ID_KEY = /blobids?$/i;

/** JSON documents are walked this deep at most (a mail reference is 2–3 levels). */
const MAX_JSON_DEPTH = 16;

/** Adds the ids found in a column value: a string, a collection of strings, or a JSON array as text. */
export function collectColumnValue(value: unknown, out: string[]): void {
  if (typeof value === 'string') {
    if (value.startsWith('[')) {
      try {
        collectColumnValue(JSON.parse(value) as unknown, out);
        return;
      } catch {
        // Not JSON after all: an id that starts with a bracket (kept, it costs nothing).
      }
    }
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'string') out.push(item);
  }
}

/** Adds the ids found under `…BlobId` / `…BlobIds` keys of a JSON value, at any depth. */
export function collectJsonBlobIds(value: unknown, out: string[], depth = 0): void {
  if (depth > MAX_JSON_DEPTH || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collectJsonBlobIds(item, out, depth + 1);
    return;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (BLOB_ID_KEY.test(key)) collectColumnValue(item, out);
    else collectJsonBlobIds(item, out, depth + 1);
  }
}

/** Parses a stored JSON document and adds its blob ids; a document that is not JSON is refused. */
export function collectJsonTextBlobIds(text: unknown, out: string[], where: string): void {
  if (typeof text !== 'string') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} holds a document that is not JSON: its blob references cannot be read`);
  }
  collectJsonBlobIds(parsed, out);
}
