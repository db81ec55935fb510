import libmime from 'libmime';

/** One header field as it appears in the message: its name and its raw lines (folding kept). */
interface Field {
  name: string;
  lower: string;
  /** `Name: value` with folded continuation lines, without the final line break. */
  raw: string;
}

/** RFC 5322 §2.1.1: lines should not exceed 78 characters; new fields are folded at that length. */
export const HEADER_LINE_LENGTH = 78;

/**
 * The header section of a message, editable without touching the body. Fields keep their bytes
 * (folding, order) unless edited, so a message a mailet did not change stays byte-identical.
 */
export class HeaderSection {
  private changed = false;

  private constructor(private readonly fields: Field[]) {}

  /** Parses a header section (without the empty line ending it). Lines that are not fields are kept as they are. */
  static parse(block: Buffer | string): HeaderSection {
    const text = typeof block === 'string' ? block : block.toString('utf8');
    const fields: Field[] = [];
    for (const line of text.split(/\r?\n/)) {
      if (line.length === 0) continue;
      if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) {
        fields[fields.length - 1].raw += '\r\n' + line;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0 || /\s/.test(line.slice(0, colon).trim()) || line.slice(0, colon).trim() === '') {
        // Not a field (malformed input): kept byte for byte, never matched by name.
        fields.push({ name: '', lower: '', raw: line });
        continue;
      }
      const name = line.slice(0, colon).trim();
      fields.push({ name, lower: name.toLowerCase(), raw: line });
    }
    return new HeaderSection(fields);
  }

  /** True when an edit changed the section. */
  get modified(): boolean {
    return this.changed;
  }

  names(): string[] {
    return this.fields.filter((f) => f.name !== '').map((f) => f.name);
  }

  /** Unfolded raw values of the fields with this name (case-insensitive), in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    if (lower === '') return [];
    return this.fields.filter((f) => f.lower === lower).map((f) => unfold(f.raw.slice(f.raw.indexOf(':') + 1)).trim());
  }

  get(name: string): string | null {
    return this.getAll(name)[0] ?? null;
  }

  /** The first value with RFC 2047 encoded words decoded. */
  decoded(name: string): string | null {
    const value = this.get(name);
    if (value === null) return null;
    try {
      return libmime.decodeWords(value);
    } catch {
      return value;
    }
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  count(name: string): number {
    return this.getAll(name).length;
  }

  /** Adds a field at the top (trace fields: Received, Delivered-To) or the bottom. */
  add(name: string, value: string, where: 'top' | 'bottom' = 'bottom'): void {
    assertFieldName(name);
    const field = { name, lower: name.toLowerCase(), raw: formatField(name, value) };
    if (where === 'top') this.fields.unshift(field);
    else this.fields.push(field);
    this.changed = true;
  }

  /** Replaces the first field of that name (keeping its place) and removes the others; adds it when absent. */
  set(name: string, value: string): void {
    assertFieldName(name);
    const lower = name.toLowerCase();
    const first = this.fields.findIndex((f) => f.lower === lower);
    if (first < 0) return this.add(name, value);
    this.fields[first] = { name: this.fields[first].name, lower, raw: formatField(this.fields[first].name, value) };
    for (let i = this.fields.length - 1; i > first; i--) if (this.fields[i].lower === lower) this.fields.splice(i, 1);
    this.changed = true;
  }

  /** Removes every field of that name; returns how many were removed. */
  remove(name: string): number {
    const lower = name.toLowerCase();
    let removed = 0;
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (this.fields[i].lower === lower) {
        this.fields.splice(i, 1);
        removed++;
      }
    }
    if (removed > 0) this.changed = true;
    return removed;
  }

  /** The section as bytes, each field ending with CRLF (without the empty line that ends the section). */
  toBuffer(): Buffer {
    return Buffer.from(this.fields.map((f) => f.raw + '\r\n').join(''), 'utf8');
  }
}

/** RFC 5322 §3.6.8: field names are printable ASCII except colon. */
const FIELD_NAME = /^[!-9;-~]+$/;

function assertFieldName(name: string): void {
  if (!FIELD_NAME.test(name)) throw new Error(`Invalid header field name ${JSON.stringify(name)}`);
}

/** `Name: value`, RFC 2047-encoded when the value is not ASCII, folded at white space. */
export function formatField(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`A header value must not contain line breaks (${name})`);
  const encoded = /^[\x20-\x7e\t]*$/.test(value) ? value : libmime.encodeWords(value, 'Q', 52);
  return libmime.foldLines(`${name}: ${encoded}`, HEADER_LINE_LENGTH).replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '');
}

function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '');
}

/** Where the header section ends in a message: the offset of the body and the header block. */
export function splitMessage(message: Buffer): { header: Buffer; body: Buffer } {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  if (crlf < 0 && lf < 0) {
    // No empty line: the whole message is a header section with no body (RFC 5322 §3.5 allows it).
    return { header: message, body: Buffer.alloc(0) };
  }
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { header: message.subarray(0, crlf + 2), body: message.subarray(crlf + 4) };
  return { header: message.subarray(0, lf + 1), body: message.subarray(lf + 2) };
}

/** Joins an edited header section and a body back into a message. */
export function joinMessage(headers: HeaderSection, body: Buffer): Buffer {
  return Buffer.concat([headers.toBuffer(), Buffer.from('\r\n'), body]);
}
