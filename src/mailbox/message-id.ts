import { randomFillSync } from 'node:crypto';

/**
 * A new MessageId: a UUID version 7 (RFC 9562 §5.7: 48-bit Unix time in ms, then 74 random bits).
 * Ids made one after the other sort together, so the indexes keyed by MessageId (SQLite
 * `message_content`, `messages_message_id`, the search index's) take each new id on their last
 * pages instead of a random page per copy: a received mail's commit writes far fewer pages to the
 * WAL. Still unguessable enough for an id that grants nothing (rights are checked on access).
 */
export function newMessageId(now: number = Date.now(), random: Buffer = pooledRandomBytes(10)): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(Math.max(0, Math.floor(now)) % 2 ** 48, 0, 6);
  random.copy(bytes, 6, 0, 10);
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Random bytes drawn for many ids at once: one `getrandom` per 409 ids instead of one per id (≈ 13 µs each here). */
const RANDOM_POOL = Buffer.alloc(4096);
let randomOffset = RANDOM_POOL.length;

/** `length` fresh random bytes, valid until the next call (they are copied at once). */
export function pooledRandomBytes(length: number): Buffer {
  if (length > RANDOM_POOL.length) throw new RangeError(`at most ${RANDOM_POOL.length} pooled random bytes at once`);
  if (randomOffset + length > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    randomOffset = 0;
  }
  const bytes = RANDOM_POOL.subarray(randomOffset, randomOffset + length);
  randomOffset += length;
  return bytes;
}
