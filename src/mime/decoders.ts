/**
 * Incremental Content-Transfer-Encoding decoders fed line by line by the MIME parser, so a
 * body is decoded as it streams by (RFC 2045 §6.7 quoted-printable, §6.8 base64).
 */
export interface LineDecoder {
  /** Decodes one line; `eol` is its line break (empty for the last line of a body). */
  line(content: Buffer, eol: Buffer): Buffer;
  /** Whatever is left when the body ends. */
  end(): Buffer;
}

const EMPTY = Buffer.alloc(0);

class IdentityDecoder implements LineDecoder {
  line(content: Buffer, eol: Buffer): Buffer {
    return eol.length === 0 ? content : Buffer.concat([content, eol]);
  }

  end(): Buffer {
    return EMPTY;
  }
}

class Base64Decoder implements LineDecoder {
  private rest = '';

  line(content: Buffer): Buffer {
    // Characters outside the alphabet are ignored (RFC 2045 §6.8).
    const chars = this.rest + content.toString('latin1').replace(/[^A-Za-z0-9+/]/g, '');
    const usable = chars.length - (chars.length % 4);
    this.rest = chars.slice(usable);
    return usable === 0 ? EMPTY : Buffer.from(chars.slice(0, usable), 'base64');
  }

  end(): Buffer {
    const rest = this.rest;
    this.rest = '';
    return rest.length > 1 ? Buffer.from(rest, 'base64') : EMPTY;
  }
}

const HEX = /^[0-9A-Fa-f]{2}$/;

class QuotedPrintableDecoder implements LineDecoder {
  line(content: Buffer, eol: Buffer): Buffer {
    let text = content.toString('latin1').replace(/[ \t]+$/, '');
    let softBreak = false;
    if (text.endsWith('=')) {
      softBreak = true;
      text = text.slice(0, -1);
    }
    const out = Buffer.alloc(text.length + 2);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x3d && i + 2 < text.length && HEX.test(text.slice(i + 1, i + 3))) {
        out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
        i += 2;
      } else {
        out[n++] = c & 0xff;
      }
    }
    if (!softBreak && eol.length > 0) {
      out[n++] = 0x0d;
      out[n++] = 0x0a;
    }
    return out.subarray(0, n);
  }

  end(): Buffer {
    return EMPTY;
  }
}

export function createDecoder(encoding: string): LineDecoder {
  switch (encoding) {
    case 'base64':
      return new Base64Decoder();
    case 'quoted-printable':
      return new QuotedPrintableDecoder();
    default:
      return new IdentityDecoder();
  }
}

/** Decoded size of base64 text without decoding it: alphabet characters × 3/4, padding excluded. */
export function countBase64Chars(content: Buffer): number {
  let n = 0;
  for (let i = 0; i < content.length; i++) {
    const c = content[i];
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f) n++;
  }
  return n;
}
