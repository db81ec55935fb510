import { randomInt } from 'node:crypto';

/** RFC 3501 §2.3.1.1: a non-zero 32-bit value; kept below 2^31 so every client's signed int holds it. */
export function newUidValidity(): number {
  return randomInt(1, 2 ** 31 - 1);
}
