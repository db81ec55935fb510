/**
 * Limits of the IMAP server. Input is always untrusted: every buffer the peer can grow has a
 * bound here, with the reason for its value.
 */

/**
 * Longest command line (one line between literals, without CRLF). RFC 7162 §4 asks servers to
 * accept lines of at least 8 KiB; 64 KiB leaves room for long UID sets sent by syncing clients.
 */
export const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Largest literal accepted inside a command other than APPEND. Such literals are copied into one
 * buffer; they only carry short strings (user names, passwords, mailbox names, METADATA values of
 * at most MAX_ANNOTATION_SIZE = 64 KiB). APPEND has its own limit, MAX_APPEND_SIZE.
 */
export const MAX_LITERAL_SIZE = 64 * 1024;

/**
 * Largest message APPEND accepts (advertised as APPENDLIMIT, RFC 7889), the SMTP default size
 * limit. A larger literal is refused from its announcement, before any byte of it is read
 * (`NO [TOOBIG]`, or BAD for a non-synchronizing one). An accepted literal is kept in the chunks it
 * arrived in (held once, never joined into one buffer) and streamed to the blob store, so this
 * bounds what one connection holds.
 */
export const MAX_APPEND_SIZE = 50 * 1024 * 1024;

/** All literals of one (MULTI)APPEND command together. */
export const MAX_APPEND_COMMAND_SIZE = 2 * MAX_APPEND_SIZE;

/** Largest command (all lines and literals together), so a chain of literals cannot grow memory without bound. */
export const MAX_COMMAND_SIZE = 256 * 1024;

/** Deepest nesting of parenthesized lists; the parser recurses per level. */
export const MAX_LIST_NESTING = 16;

/**
 * Consecutive BAD commands tolerated before authentication; after that the peer is not an IMAP
 * client (or is probing) and gets `* BYE`.
 */
export const MAX_BAD_COMMANDS_BEFORE_AUTH = 10;

/** Failed LOGIN/AUTHENTICATE attempts per connection before `* BYE` (slows password guessing). */
export const MAX_FAILED_LOGINS = 3;

/** RFC 3501 §5.4: the inactivity autologout timer must be at least 30 minutes. */
export const IDLE_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * On server shutdown or autologout, how long a command in progress may still finish and the peer
 * may take to close its side before the socket is destroyed.
 */
export const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Most keys in one SEARCH (each OR, NOT and parenthesized group counts). Real clients send a
 * few dozen; the bound keeps a hostile `OR OR OR …` tree cheap to parse and evaluate.
 */
export const MAX_SEARCH_KEYS = 1000;

/**
 * SEARCH keys on headers/body read the message into memory one at a time; larger messages are
 * searched on their first MAX_SEARCH_CONTENT bytes only (memory per session stays bounded).
 */
export const MAX_SEARCH_CONTENT = 16 * 1024 * 1024;

/** Pairs accepted in the client's ID (RFC 2971 §3.3: at most 30 pairs). */
export const MAX_ID_PAIRS = 30;

/**
 * Open connections from one IP address. Generous because offices sit behind one NAT address and
 * each client opens several connections per account (Thunderbird up to 5); it bounds what one
 * host can hold (sockets, sessions, listeners).
 */
export const MAX_CONNECTIONS_PER_IP = 200;

/**
 * Authenticated connections of one user across all addresses (Dovecot's
 * mail_max_userip_connections is 10 per user and IP; a user with a few devices and
 * a sync client stays well below). Over it, LOGIN gets `NO [LIMIT]`.
 */
export const MAX_CONNECTIONS_PER_USER = 50;

/**
 * A command that was started (part of a line, or a literal announced) must be completed within
 * this time, or the session ends: a peer announcing a literal it never sends holds no buffer and
 * no session beyond it. Shorter than the autologout because a live client sends a command in one go.
 */
export const COMMAND_COMPLETION_TIMEOUT_MS = 2 * 60 * 1000;
