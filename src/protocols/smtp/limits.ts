/** RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients per message. */
export const MAX_RECIPIENTS = 100;
/** RFC 5321 §4.5.3.2.7: the server should wait at least 5 minutes for the next command. */
export const SOCKET_TIMEOUT_MS = 5 * 60 * 1000;
/** Concurrent SMTP connections per node; beyond it clients get 421 and retry later. */
export const MAX_CLIENTS = 500;
/**
 * Failed AUTH attempts per connection before the server closes it (421): slows password guessing
 * over one connection; the AuthService throttles across connections.
 */
export const MAX_AUTH_FAILURES_PER_CONNECTION = 3;
