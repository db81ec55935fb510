/** Binary (code unit) order: SQLite's default collation and Cassandra's `text` clustering order. */
export function compareBinary(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
