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
 * Largest literal accepted inside a command. Literals are buffered in memory; the commands of this
 * slice only carry short strings (user names, passwords, mailbox names) in them. APPEND (a later
 * issue) will stream its message literal to the blob store instead and has its own limit.
 */
export const MAX_LITERAL_SIZE = 64 * 1024;

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
