import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '../../core/errors';

const MAGIC = Buffer.from('PFBF', 'ascii');
const VERSION = 1;
const SALT_LENGTH = 16;
/** magic | version | hashes (1) | bits (6, big-endian) | count (6) | salt (16) */
const HEADER_LENGTH = MAGIC.length + 1 + 1 + 6 + 6 + SALT_LENGTH;
/** 2^33 bits = 1 GiB: ~900 million references at 1 %; beyond that a run needs a coarser probability. */
export const MAX_BITS = 2 ** 33;
const MAX_HASHES = 30;

/**
 * A Bloom filter of blob ids (James' GC uses one too): set membership in ~10 bits per id at a 1 %
 * false-positive rate, where a Set of 64-character ids would take ~100 bytes each. A false positive
 * only keeps an orphan one more run; there are no false negatives, which is what safety needs.
 * The salt is random per run, so the orphans that collide differ from run to run.
 */
export class BloomFilter {
  private readonly seeds: [number, number, number, number];

  private constructor(
    readonly bits: number,
    readonly hashes: number,
    private readonly salt: Buffer,
    private readonly words: Uint8Array,
    private inserted: number,
  ) {
    this.seeds = [salt.readUInt32BE(0), salt.readUInt32BE(4), salt.readUInt32BE(8), salt.readUInt32BE(12)];
  }

  /** Sized for `expected` ids at false-positive probability `probability` (James' defaults: 1,000,000 and 0.01). */
  static create(expected: number, probability: number): BloomFilter {
    if (!Number.isFinite(expected) || expected < 1) throw new InvalidInputError(`expectedBlobCount must be a positive number, got ${expected}`);
    if (!(probability > 0 && probability < 1)) throw new InvalidInputError(`associatedProbability must be between 0 and 1 (exclusive), got ${probability}`);
    const ideal = Math.ceil((-expected * Math.log(probability)) / Math.LN2 ** 2);
    const bits = Math.min(MAX_BITS, Math.max(64, Math.ceil(ideal / 8) * 8));
    const hashes = Math.min(MAX_HASHES, Math.max(1, Math.round((bits / expected) * Math.LN2)));
    return new BloomFilter(bits, hashes, randomBytes(SALT_LENGTH), new Uint8Array(bits / 8), 0);
  }

  static deserialize(bytes: Buffer): BloomFilter {
    if (bytes.length < HEADER_LENGTH || !bytes.subarray(0, MAGIC.length).equals(MAGIC) || bytes[MAGIC.length] !== VERSION) {
      throw new InvalidInputError('Not a serialized Bloom filter (bad magic or version)');
    }
    let offset = MAGIC.length + 1;
    const hashes = bytes[offset++];
    const bits = bytes.readUIntBE(offset, 6);
    offset += 6;
    const inserted = bytes.readUIntBE(offset, 6);
    offset += 6;
    const salt = Buffer.from(bytes.subarray(offset, offset + SALT_LENGTH));
    offset += SALT_LENGTH;
    if (bytes.length - offset !== bits / 8) throw new InvalidInputError(`Truncated Bloom filter: ${bytes.length - offset} bytes of bits, expected ${bits / 8}`);
    return new BloomFilter(bits, hashes, salt, new Uint8Array(bytes.subarray(offset)), inserted);
  }

  /** Ids added so far (with repetitions). */
  get count(): number {
    return this.inserted;
  }

  /** The false-positive probability at the current fill. */
  get estimatedFalsePositiveRate(): number {
    return (1 - Math.exp((-this.hashes * this.inserted) / this.bits)) ** this.hashes;
  }

  add(id: string): void {
    this.inserted++;
    this.forEachPosition(id, (byte, mask) => {
      this.words[byte] |= mask;
      return true;
    });
  }

  mightContain(id: string): boolean {
    return this.forEachPosition(id, (byte, mask) => (this.words[byte] & mask) !== 0);
  }

  serialize(): Buffer {
    const header = Buffer.alloc(HEADER_LENGTH);
    MAGIC.copy(header, 0);
    let offset = MAGIC.length;
    header[offset++] = VERSION;
    header[offset++] = this.hashes;
    header.writeUIntBE(this.bits, offset, 6);
    offset += 6;
    header.writeUIntBE(Math.min(this.inserted, 2 ** 48 - 1), offset, 6);
    offset += 6;
    this.salt.copy(header, offset);
    return Buffer.concat([header, this.words]);
  }

  /**
   * Kirsch–Mitzenmacher double hashing: positions h1 + i·h2 (mod bits), h1 and h2 built from four
   * 32-bit MurmurHash3 values of the id seeded by the salt (a fifth of SHA-256's cost per id; the
   * filter needs spread, not cryptographic strength).
   */
  private forEachPosition(id: string, visit: (byte: number, mask: number) => boolean): boolean {
    const [s0, s1, s2, s3] = this.seeds;
    let position = (murmur3(id, s0) * 2 ** 20 + (murmur3(id, s1) >>> 12)) % this.bits;
    const step = (murmur3(id, s2) * 2 ** 16 + (murmur3(id, s3) >>> 16)) % this.bits || 1;
    for (let i = 0; i < this.hashes; i++) {
      if (!visit(Math.floor(position / 8), 1 << (position % 8))) return false;
      // Both terms are below 2^34: the sum is exact in a double.
      position = (position + step) % this.bits;
    }
    return true;
  }
}

/** Bound once: a global lookup per call is very slow under jest's sandboxed globals. */
const imul = Math.imul;

/** MurmurHash3 (x86, 32-bit) of the UTF-16 code units of `text`. */
function murmur3(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    let k = text.charCodeAt(i);
    k = imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= text.length;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
