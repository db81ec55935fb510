/**
 * Base subject of RFC 5256 §2.1, used to match a reply with its thread: encoded-words decoded
 * beforehand by the caller, white space collapsed, then `Re:`/`Fw:`/`Fwd:` prefixes (with an
 * optional `[blob]`), `[blob]` prefixes, `(fwd)` trailers and `[fwd: …]` wrappers removed
 * repeatedly, compared case-insensitively.
 */
export function baseSubject(subject: string | null): string {
  if (!subject) return '';
  let s = subject.replace(/\s+/g, ' ').trim();
  for (;;) {
    const before = s;
    // (2) trailers: "(fwd)" and white space.
    while (/\s*\(fwd\)$/i.test(s)) s = s.replace(/\s*\(fwd\)$/i, '').trim();
    // (3)-(4) leaders: subj-refwd and subj-blob, repeatedly.
    for (;;) {
      const stripped = s.replace(/^(?:(?:re|fwd?)\s*(?:\[[^\][]*\])?\s*:|\[[^\][]*\](?=\s*\S))\s*/i, '');
      if (stripped === s) break;
      s = stripped;
    }
    // (6) "[fwd:" ... "]" wrapper.
    const wrapped = /^\[fwd:\s*(.*)\]$/i.exec(s);
    if (wrapped) s = wrapped[1].trim();
    if (s === before) break;
  }
  return s.toLowerCase();
}
