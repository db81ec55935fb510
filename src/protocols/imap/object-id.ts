/** RFC 8474 objectid: 1-255 of ALPHA / DIGIT / "_" / "-". */
export const OBJECT_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** The objectid of a stored id; ids of another shape are base64url-encoded (stable, reversible in practice). */
export function objectId(id: string): string {
  if (OBJECT_ID.test(id)) return id;
  return Buffer.from(id).toString('base64url').slice(0, 255);
}
