/**
 * Failed logins shared by every node of a cluster (the distributed profile's login throttle):
 * an attacker spreading attempts over N nodes gets the budget of one. Keys are opaque
 * (`a:<account>`, `r:<remote address>`); entries expire after the throttle window.
 */
export interface LoginFailureStore {
  /** Failures of `key` recorded after `sinceMs` (epoch milliseconds). */
  count(key: string, sinceMs: number): Promise<number>;
  /** Records one failure at `atMs`; it may be forgotten after `ttlSeconds`. */
  record(key: string, atMs: number, ttlSeconds: number): Promise<void>;
  /** Forgets every failure of `key`. */
  clear(key: string): Promise<void>;
}
