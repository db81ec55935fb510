import { z } from 'zod';

/** `true`/`false` as written in James' XML, or a YAML boolean. */
export const boolParam = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** A comma- or space-separated list (James style) or a YAML list, trimmed, empties dropped. */
export const listParam = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(/[\s,]+/) : v),
  z.array(z.coerce.string()).transform((items) => items.map((s) => s.trim()).filter(Boolean)),
);

/** A comma-separated list of addresses, lower-cased. */
export const addressListParam = listParam.transform((items) => items.map((s) => s.toLowerCase()));

export const positiveInt = z.coerce.number().int().positive();
export const nonNegativeInt = z.coerce.number().int().min(0);

/** Strips James' repository protocol (`cassandra://var/mail/error/` → `var/mail/error/`) and ensures the trailing slash. */
export function normalizeRepositoryPath(path: string): string {
  const bare = path.replace(/^[a-z0-9+.-]+:\/\//i, '').replace(/^\/+/, '');
  return bare.endsWith('/') ? bare : `${bare}/`;
}

export const repositoryPathParam = z
  .string({ required_error: 'is required, e.g. var/mail/error/' })
  .min(1)
  .transform(normalizeRepositoryPath);

/** Splits a matcher condition list (`a@b.org, c@d.org`). */
export function conditionList(raw: string | undefined, what: string): string[] {
  const items = (raw ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`needs a condition: ${what}`);
  return items;
}

/** `1m`, `10k`, `2048` → bytes (James SizeGreaterThan units: k, m, g, case-insensitive). */
export function parseSize(raw: string): number {
  const m = /^\s*(\d+)\s*([kmg]?)b?\s*$/i.exec(raw);
  if (!m) throw new Error(`${JSON.stringify(raw)} is not a size (e.g. 1m, 10k, 2048)`);
  const unit = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}
